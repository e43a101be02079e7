//! `vpcgate serve` driven by aws-sdk-rust (aws-sdk-sfn): SigV4 and awsJson1_0 as the Rust SDK
//! speaks them.

use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use serde_json::json;

use crate::serve::start;

/// Removes the `sync-` endpoint prefix StartSyncExecution stores before the endpoint is resolved.
#[derive(Debug)]
struct NoHostPrefix;

impl aws_smithy_runtime_api::client::interceptors::Intercept for NoHostPrefix {
    fn name(&self) -> &'static str {
        "NoHostPrefix"
    }

    fn read_before_serialization(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        cfg.interceptor_state()
            .unset::<aws_smithy_runtime_api::client::endpoint::EndpointPrefix>();
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_sdk_rust_runs_the_seed_pattern_a_workflow() {
    let (addr, conn, role) = start(vpcgate::edge::AuthMode::Verify);
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("ap-northeast-1"))
        .endpoint_url(format!("http://{addr}"))
        .credentials_provider(Credentials::new(
            vpcgate::authz::ROOT_ACCESS_KEY_ID,
            vpcgate::authz::ROOT_SECRET_ACCESS_KEY,
            None,
            None,
            "vpcgate",
        ))
        // aws-sdk-rust prefixes StartSyncExecution's host with "sync-" like botocore and has no
        // switch for it: an interceptor drops the prefix (README, "Point your clients at vpcgate").
        .interceptor(NoHostPrefix)
        .build();
    let sfn = aws_sdk_sfn::Client::from_conf(config);
    let definition = json!({
        "StartAt": "CallPrivateApi",
        "States": {"CallPrivateApi": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
            "Parameters": {"ApiEndpoint": "https://eb-demo.example.com/", "Method": "GET",
                "Authentication": {"ConnectionArn": conn}}, "End": true}}
    });
    let created = sfn
        .create_state_machine()
        .name("sdk-pattern-a")
        .definition(definition.to_string())
        .role_arn(role)
        .r#type(aws_sdk_sfn::types::StateMachineType::Express)
        .send()
        .await
        .unwrap();
    let res = sfn
        .start_sync_execution()
        .state_machine_arn(created.state_machine_arn())
        .input("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        &aws_sdk_sfn::types::SyncExecutionStatus::Succeeded
    );
    let output: serde_json::Value = serde_json::from_str(res.output().unwrap()).unwrap();
    assert_eq!(output["StatusCode"], 200);
    assert_eq!(
        output["ResponseBody"],
        json!({"status": "ok", "source": "internal-alb"})
    );
    assert_eq!(output["Headers"]["server"], json!(["awselb/2.0"]));

    let err = sfn
        .describe_state_machine()
        .state_machine_arn(format!("{}-missing", created.state_machine_arn()))
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_state_machine_does_not_exist());
}
