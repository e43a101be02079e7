//! docker-compose.yml: valid (checked with Debian's docker-compose, no engine needed), and its
//! vpcgate command is exactly the invocation this test runs — serving the user-service scenario,
//! where a user's own service sits behind the emulated ALB.

use std::process::{Child, Command, Stdio};

use serde_json::Value;

fn repo() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `docker-compose config`, as JSON.
fn compose_config() -> Value {
    let out = Command::new("docker-compose")
        .args(["-f", "docker-compose.yml", "config"])
        .current_dir(repo())
        .output()
        .expect("docker-compose is installed (the README's test command installs it)");
    assert!(
        out.status.success(),
        "docker-compose config: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = Command::new("python3")
        .args([
            "-c",
            "import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(&out.stdout)?;
            child.wait_with_output()
        })
        .unwrap();
    serde_json::from_slice(&json.stdout).unwrap()
}

struct Backend(Child);
impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

#[test]
fn compose_file_is_valid_and_serves_the_user_service_scenario() {
    let config = compose_config();
    let vpcgate = &config["services"]["vpcgate"];
    assert!(
        vpcgate["ports"][0]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:4566:"),
        "publish on loopback only: {}",
        vpcgate["ports"]
    );
    assert_eq!(vpcgate["healthcheck"]["test"][1], "vpcgate");
    let command: Vec<String> = vpcgate["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(command[0], "serve");
    assert_eq!(
        config["services"]["backend"]["network_mode"],
        "service:vpcgate"
    );

    // The same invocation, with the volume's path mapped to the repository and a loopback port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let args: Vec<String> = std::iter::once("vpcgate".to_string())
        .chain(command.iter().map(|a| {
            if let Some(rest) = a.strip_prefix("/scenarios/") {
                repo().join("scenarios").join(rest).display().to_string()
            } else if a == "/data/ca" {
                std::env::temp_dir()
                    .join(format!("vpcgate-compose-ca-{port}"))
                    .display()
                    .to_string()
            } else if a == "0.0.0.0:4566" {
                format!("127.0.0.1:{port}")
            } else {
                a.clone()
            }
        }))
        .collect();
    std::thread::spawn(move || vpcgate::cli::run(args));

    let _backend = Backend(
        Command::new("python3")
            .arg(repo().join("examples/backend.py"))
            .env("PORT", "8080")
            .spawn()
            .expect("python3 runs the example backend"),
    );

    let script = r#"
import json, sys, time, urllib.request, boto3
from botocore.config import Config
ep = sys.argv[1]
for _ in range(100):  # wait until both servers answer (bounded)
    try:
        urllib.request.urlopen(ep + "/_vpcgate/health", timeout=1)
        urllib.request.urlopen("http://127.0.0.1:8080/api/hello", timeout=1)
        break
    except Exception:
        time.sleep(0.05)
sfn = boto3.client("stepfunctions", endpoint_url=ep, region_name="ap-northeast-1",
    aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    config=Config(inject_host_prefix=False))
arn = [m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"] if m["name"] == "call-user-service"][0]
res = sfn.start_sync_execution(stateMachineArn=arn)
print(json.dumps({"status": res["status"], "output": json.loads(res.get("output", "null") or "null"), "error": res.get("error"), "cause": res.get("cause")}))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(format!("http://127.0.0.1:{port}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    let body = &v["output"]["ResponseBody"];
    assert_eq!(body["message"], "hello from your service");
    assert_eq!(body["forwardedProto"], "https");
    assert!(
        body["forwardedFor"]
            .as_str()
            .unwrap()
            .starts_with("192.168."),
        "the ALB forwards from inside the VPC: {body}"
    );
}
