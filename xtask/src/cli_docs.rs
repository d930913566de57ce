//! `cargo xtask completions` and `cargo xtask man`: shell completions and man pages of
//! `collect` and `analyze`, generated from their clap definitions (`clap_complete`,
//! `clap_mangen`), so they never disagree with `--help`.
//!
//! Both need the `collect` crate and so the AWS SDK, which `cargo xtask synth` and `bench`
//! should not wait for: they live behind xtask's `cli-docs` feature, and an xtask built
//! without it runs itself again through cargo with the feature on.

use std::path::PathBuf;

use anyhow::Context as _;

/// Where to write.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The output directory.
    #[arg(long, value_name = "DIR", default_value = "target/dist")]
    pub out: PathBuf,
}

/// Reruns this xtask through cargo with the `cli-docs` feature (the SDK builds then).
#[cfg(not(feature = "cli-docs"))]
pub fn rerun_with_feature() -> anyhow::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args([
            "run",
            "--quiet",
            "-p",
            "xtask",
            "--features",
            "cli-docs",
            "--",
        ])
        .args(std::env::args_os().skip(1))
        .status()
        .context("cannot run cargo")?;
    anyhow::ensure!(status.success(), "xtask with `cli-docs` failed ({status})");
    Ok(())
}

#[cfg(feature = "cli-docs")]
fn commands() -> [clap::Command; 2] {
    use clap::CommandFactory as _;
    [
        headroom_collector::Args::command(),
        headroom_analyzer::cli::Args::command(),
    ]
}

/// Writes `<out>/completions/<shell>/<file>` for bash, zsh, fish, elvish and PowerShell.
#[cfg(feature = "cli-docs")]
pub fn completions(args: &Args) -> anyhow::Result<Vec<PathBuf>> {
    use clap_complete::Shell;
    let mut written = Vec::new();
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::Elvish,
        Shell::PowerShell,
    ] {
        let dir = args.out.join("completions").join(shell.to_string());
        create(&dir)?;
        for mut command in commands() {
            let name = command.get_name().to_owned();
            let path = clap_complete::generate_to(shell, &mut command, &name, &dir)
                .with_context(|| format!("cannot write {shell} completions of `{name}`"))?;
            written.push(path);
        }
    }
    Ok(written)
}

/// Writes `<out>/man/collect.1` and `<out>/man/analyze.1`.
#[cfg(feature = "cli-docs")]
pub fn man(args: &Args) -> anyhow::Result<Vec<PathBuf>> {
    let dir = args.out.join("man");
    create(&dir)?;
    let mut written = Vec::new();
    for command in commands() {
        let path = dir.join(format!("{}.1", command.get_name()));
        let mut page = Vec::new();
        clap_mangen::Man::new(command)
            .render(&mut page)
            .context("cannot render a man page")?;
        std::fs::write(&path, page)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(feature = "cli-docs")]
fn create(dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))
}

#[cfg(all(test, feature = "cli-docs"))]
mod tests {
    use super::*;

    #[test]
    fn completions_and_man_pages_name_every_flag() {
        let dir = tempfile::tempdir().unwrap();
        let args = Args {
            out: dir.path().to_owned(),
        };
        let files = completions(&args).unwrap();
        assert_eq!(files.len(), 10);
        let bash =
            std::fs::read_to_string(dir.path().join("completions/bash/collect.bash")).unwrap();
        for flag in [
            "--log-format",
            "--concurrency",
            "--allow-partial",
            "--quiet",
        ] {
            assert!(bash.contains(flag), "{flag}");
        }
        let pages = man(&args).unwrap();
        assert_eq!(pages.len(), 2);
        let page = std::fs::read_to_string(dir.path().join("man/analyze.1")).unwrap();
        assert!(page.starts_with(".ie \\n(.g .ds Aq"), "{page}");
        assert!(page.contains("exclude\\-account\\-ids"), "{page}");
    }
}
