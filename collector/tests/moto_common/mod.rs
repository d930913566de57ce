//! Shared by the moto end-to-end test and the collector benchmark: moto server installed
//! into a venv under the target directory and started on a free port, and an SDK config
//! pointed at it.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code: failures panic"
)]

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

const MOTO: &str = "moto[server]==5.2.5";

/// The venv's python, installing moto on first use.
fn moto_python() -> PathBuf {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _guard = INSTALL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("moto-5.2.5");
    let python = dir.join("bin").join("python");
    let marker = dir.join(".headroom-installed");
    if marker.exists() && python.exists() {
        return python;
    }
    let venv = Command::new("python3")
        .arg("-m")
        .arg("venv")
        .arg(&dir)
        .status();
    match venv {
        Err(e) => panic!(
            "the end-to-end tests need python3 (with venv and pip) to install {MOTO}: cannot run `python3`: {e}"
        ),
        Ok(s) if !s.success() => panic!(
            "`python3 -m venv {}` failed: install python3's venv module (Debian: apt-get install python3-venv)",
            dir.display()
        ),
        Ok(_) => {}
    }
    let pip = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            MOTO,
        ])
        .status()
        .unwrap();
    assert!(
        pip.success(),
        "`{} -m pip install '{MOTO}'` failed (it needs the PyPI registry)",
        python.display()
    );
    fs::write(&marker, MOTO).unwrap();
    python
}

/// A moto server on a free port, stopped on drop.
pub struct Moto {
    child: Child,
    pub url: String,
    log: PathBuf,
}

impl Moto {
    pub fn start() -> Self {
        let python = moto_python();
        let wrapper =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../test_environment/moto/headroom_moto.py");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("moto-{port}.log"));
        let out = fs::File::create(&log).unwrap();
        let child = Command::new(python)
            .arg(wrapper)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let mut moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = moto.child.try_wait().unwrap() {
                panic!(
                    "moto exited with {status}: {}",
                    fs::read_to_string(&moto.log).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto did not listen within 60s; see {}",
                moto.log.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// The server's process ID.
    #[allow(dead_code, reason = "only the benchmark reads it")]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

pub async fn sdk_config(url: &str, credentials: Credentials) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials)
        .load()
        .await
}

/// Credentials of `OrganizationAccountAccessRole` in `account`, assumed from `mgmt`.
pub async fn member_config(url: &str, mgmt: &SdkConfig, account: &str) -> SdkConfig {
    let out = aws_sdk_sts::Client::new(mgmt)
        .assume_role()
        .role_arn(format!(
            "arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
        ))
        .role_session_name("seed")
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap();
    sdk_config(
        url,
        Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            None,
            "seed",
        ),
    )
    .await
}

/// Creates a member account named `name` under the root; returns its ID.
pub async fn create_account(org: &aws_sdk_organizations::Client, name: &str) -> String {
    let out = org
        .create_account()
        .account_name(name)
        .email(format!("{name}@example.com"))
        .send()
        .await
        .unwrap();
    out.create_account_status()
        .unwrap()
        .account_id()
        .unwrap()
        .to_owned()
}

/// The `Headroom` role `collect` assumes in a member account: trusted by the security
/// account, with the least-privilege reader policy of `test_environment/`.
pub async fn create_headroom_role(config: &SdkConfig, security: &str) {
    let iam = aws_sdk_iam::Client::new(config);
    iam.create_role()
        .role_name("Headroom")
        .assume_role_policy_document(
            serde_json::json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{security}:root")},
                "Action": "sts:AssumeRole"
            }]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name("Headroom")
        .policy_name("HeadroomReadInventories")
        .policy_document(
            fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../test_environment/policies/account_reader.json"),
            )
            .unwrap(),
        )
        .send()
        .await
        .unwrap();
}
