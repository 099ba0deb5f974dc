//! `runnerkey approver run|manifests|unit`: the core's approver, its
//! metrics served over HTTP, its decisions printed.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use runnerkey::approver::{
    Approver, ApproverDeployment, ApproverEvent, ApproverParams, ApproverUnit, Decision,
};
use runnerkey::{Error, KubeContext, Lifetime, Result};

use crate::Outcome;
use crate::args::{
    ApproverManifestsArgs, ApproverPolicyArgs, ApproverRunArgs, ApproverUnitArgs, Format,
};

fn params(p: &ApproverPolicyArgs, timeout: Option<&str>) -> Result<ApproverParams> {
    let mut params = ApproverParams::default();
    params.deny = p.deny;
    params.subresource = p.subresource.clone();
    params.rate = p.rate.parse()?;
    params.resync = p.resync.parse::<Lifetime>()?.as_duration();
    if let Some(t) = timeout {
        params.timeout = t.parse::<Lifetime>()?.as_duration();
    }
    params.validate()?;
    Ok(params)
}

/// The policy flags again, for the command a unit or a pod runs.
fn policy_args(p: &ApproverPolicyArgs) -> Vec<String> {
    let mut args = Vec::new();
    if p.deny {
        args.push("--deny".to_string());
    }
    for (flag, value, default) in [
        (
            "--subresource",
            &p.subresource,
            runnerkey::approver::SELF_CLIENT,
        ),
        ("--rate", &p.rate, "3/1h"),
        ("--resync", &p.resync, "5m"),
    ] {
        if value != default {
            args.extend([flag.to_string(), value.clone()]);
        }
    }
    args
}

fn say(decision: &Decision, json: bool) {
    if json {
        match serde_json::to_string(decision) {
            Ok(line) => out_raw!("{line}\n"),
            Err(e) => crate::warn(&format!("a decision could not be written as JSON: {e}")),
        }
    } else {
        out!("{}", crate::term::one_line(&decision.to_string()));
    }
}

/// `runnerkey approver run`
pub fn run(a: &ApproverRunArgs) -> Result<Outcome> {
    let params = params(&a.policy, Some(&a.timeout))?;
    let approver = Arc::new(Approver::new(params));
    let connect = || -> Result<KubeContext> {
        if a.in_cluster {
            KubeContext::in_cluster()
        } else {
            crate::csr_api::context(&a.api)
        }
    };
    if a.once {
        let decisions = approver.run_once(connect()?)?;
        if a.json {
            crate::term::print_json(&decisions)?;
        } else {
            for d in &decisions {
                say(d, false);
            }
        }
        return Ok(Outcome::Ok);
    }
    // The first connection's problems (no kubeconfig, a bad one) are the
    // user's to fix: said at once, exit 2. Later ones are retried.
    connect()?;
    if let Some(address) = &a.metrics_address {
        serve_metrics(address, Arc::clone(&approver))?;
    }
    let stop = AtomicBool::new(false);
    let json = a.json;
    approver.run(&connect, &stop, &mut |event| match event {
        ApproverEvent::Decided(d) => say(d, json),
        ApproverEvent::Trouble { error, retry_in } => crate::warn(&format!(
            "{}; trying again in {} s",
            error.chain(),
            retry_in.as_secs()
        )),
        _ => {}
    });
    Ok(Outcome::Ok)
}

/// Serves `/metrics` (Prometheus text) and `/healthz` on `address`, one
/// small request at a time, in a thread of its own.
fn serve_metrics(address: &str, approver: Arc<Approver>) -> Result<()> {
    let listener = TcpListener::bind(address).map_err(|e| Error::Io {
        path: format!("--metrics-address {address}").into(),
        source: e,
    })?;
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
            let mut line = String::new();
            let mut reader = BufReader::new(std::io::Read::take(&stream, 8192));
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut words = line.split_whitespace();
            let (method, path, version) = (words.next(), words.next(), words.next());
            let (status, body) = match (method, path, version) {
                (Some("GET"), Some(path), Some(v)) if v.starts_with("HTTP/1.") => match path {
                    "/metrics" => ("200 OK", approver.metrics().prometheus_text()),
                    "/healthz" if approver.healthy() => ("200 OK", "ok\n".to_string()),
                    "/healthz" => (
                        "503 Service Unavailable",
                        "no complete list of CertificateSigningRequests read recently\n"
                            .to_string(),
                    ),
                    _ => ("404 Not Found", "not found\n".to_string()),
                },
                _ => ("400 Bad Request", "bad request\n".to_string()),
            };
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Ok(())
}

/// `runnerkey approver manifests`
pub fn manifests(a: &ApproverManifestsArgs) -> Result<Outcome> {
    params(&a.policy, None)?;
    let mut d = ApproverDeployment::new(a.image.clone());
    d.namespace = a.namespace.clone();
    d.replicas = a.replicas;
    d.extra_args = policy_args(&a.policy);
    let manifests = d.manifests()?;
    match a.output {
        Format::Yaml => out_raw!("{}", manifests.to_yaml()?),
        Format::Json => out_raw!("{}", manifests.to_json()?),
    }
    Ok(Outcome::Ok)
}

/// `runnerkey approver unit`
pub fn unit(a: &ApproverUnitArgs) -> Result<Outcome> {
    params(&a.policy, None)?;
    let kubeconfig = std::path::absolute(&a.kubeconfig).map_err(|e| Error::Io {
        path: a.kubeconfig.clone(),
        source: e,
    })?;
    let mut unit = ApproverUnit::new(crate::runnerkey_command()?, kubeconfig);
    unit.metrics_address = a.metrics_address.clone();
    unit.extra_args = policy_args(&a.policy);
    if a.install {
        let path = unit.install(&a.root)?;
        out!("wrote {}", path.display());
        out!(
            "next: systemctl daemon-reload && systemctl enable --now {}",
            runnerkey::approver::APPROVER_UNIT
        );
    } else {
        out_raw!("{}", unit.text()?);
    }
    Ok(Outcome::Ok)
}
