//! `lbsim fit LOG --format nginx|haproxy|gunicorn`: an experiment, a trace and a Q–Q chart
//! from an access log.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use lbsim::fit::{Format, fit, log};
use lbsim::sweep::output::write_atomically;
use lbsim::units::format_duration;

pub struct Args {
    pub log: PathBuf,
    pub format: Format,
    pub out: Option<PathBuf>,
    pub workers: Option<u32>,
    pub skip_bad: bool,
    pub force: bool,
}

pub fn run(args: Args) -> Result<()> {
    let name = args.log.display().to_string();
    let stem = args.log.file_stem().and_then(|s| s.to_str()).unwrap_or("fitted").to_string();
    let out = args.out.unwrap_or_else(|| PathBuf::from(format!("{stem}.toml")));
    let out_stem = out.file_stem().and_then(|s| s.to_str()).unwrap_or("fitted").to_string();
    let folder = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let trace_name = format!("{out_stem}-trace.csv");
    let samples_name = format!("{out_stem}-service.csv");
    let qq_png = folder.join(format!("{out_stem}-qq.png"));
    let qq_svg = folder.join(format!("{out_stem}-qq.svg"));
    let outputs = [out.clone(), folder.join(&trace_name), folder.join(&samples_name), qq_png.clone(), qq_svg.clone()];
    super::refuse_writing_over_inputs(&outputs, &[("the log", args.log.clone())])?;
    // An experiment written by hand next to the log is called LOG.toml too.
    let present: Vec<String> = outputs
        .iter()
        .filter(|p| p.exists())
        .map(|p| p.file_name().unwrap_or_default().to_string_lossy().into())
        .collect();
    if !present.is_empty() && !args.force {
        bail!(
            "{} already holds {}; use --force to overwrite them, or another --out",
            folder.display(),
            present.join(", ")
        );
    }

    let text = std::fs::read_to_string(&args.log).with_context(|| format!("cannot read {name}"))?;
    let parsed = log::parse(&name, &text, args.format, args.skip_bad)?;
    let fit = fit(parsed, args.format).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    let workers = match (args.workers, fit.workers) {
        (Some(w), _) => w,
        (None, Some(w)) => w as u32,
        (None, None) => bail!(
            "{name}: the {} log does not say how many workers each backend has; give --workers N \
             (gunicorn --workers)",
            args.format.name()
        ),
    };
    std::fs::create_dir_all(folder).with_context(|| format!("cannot create {}", folder.display()))?;
    write_atomically(&folder.join(&trace_name), fit.trace_csv(&name).as_bytes())?;
    write_atomically(&folder.join(&samples_name), fit.samples_csv(&name).as_bytes())?;
    let toml = fit.experiment_toml(&out_stem, &name, workers, (&trace_name, &samples_name));
    write_atomically(&out, toml.as_bytes())?;
    let qq = fit.qq(&stem);
    let figure = lbsim::plot::qq::figure(&qq);
    write_atomically(&qq_png, &figure.png()?)?;
    write_atomically(&qq_svg, figure.svg()?.as_bytes())?;

    println!(
        "{name}: {} requests over {} ({:.2}/s){}",
        fit.requests.len(),
        format_duration(fit.span),
        fit.rate,
        if fit.skipped.is_empty() { String::new() } else { format!(", {} bad lines skipped", fit.skipped.len()) }
    );
    if let Some(d) = &fit.daily {
        println!("daily profile: amplitude {:.2}, peak at hour {:.1}", d.amplitude, d.peak_hour);
    }
    println!(
        "service time: mean {}, p50 {}, p99 {} observed",
        format_duration(fit.observed_mean()),
        format_duration(fit.observed_quantile(0.5)),
        format_duration(fit.observed_quantile(0.99))
    );
    for (i, c) in fit.candidates.iter().enumerate() {
        println!(
            "  {:<10} AIC {:>12.1}  mean {:>9}  p99 {:>9}{}",
            c.fitted.name(),
            c.aic,
            format_duration(c.fitted.mean()),
            format_duration(c.fitted.quantile(0.99)),
            if i == 0 { "  ← best (lowest AIC)" } else { "" }
        );
    }
    println!(
        "wrote {} ({} × {workers} workers), {}, {} and {}",
        out.display(),
        if fit.backends == 1 { "1 backend".to_string() } else { format!("{} backends", fit.backends) },
        folder.join(&trace_name).display(),
        folder.join(&samples_name).display(),
        qq_png.display()
    );
    Ok(())
}
