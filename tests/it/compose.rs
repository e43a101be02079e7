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
                std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
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

    let ep = format!("http://127.0.0.1:{port}");
    let v: Value = crate::serve_conventions::py(
        r#"
import sys, json, urllib.request, vpcgate_client as v
ep = sys.argv[1]
v.wait_healthy(ep)
v.wait_healthy("http://127.0.0.1:8080", path="/api/hello")  # the example backend
sfn = v.client("stepfunctions", ep, key="AKIAIOSFODNN7EXAMPLE",
               secret="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region="ap-northeast-1")
arn = [m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"] if m["name"] == "call-user-service"][0]
res = sfn.start_sync_execution(stateMachineArn=arn)
v.emit({"status": res["status"], "output": json.loads(res.get("output", "null") or "null"), "error": res.get("error"), "cause": res.get("cause")})
"#,
        &[&ep],
    );
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
