//! One full Pattern B request through the API Gateway service: SigV4 verification, the
//! principal lookup, `execute-api:Invoke` with the resource policy, the VPC link connection
//! through the virtual network (security groups at both ends), HTTP/1.1 to the ALB's fixed
//! response and back — next to the parts alone (verification; an unsigned request refused at
//! the first check).

use std::hint::black_box;
use std::path::PathBuf;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use vpcgate::apigw;
use vpcgate::clock::Clock;
use vpcgate::iam::Principal;
use vpcgate::scenario::{Scenario, StackLinks};
use vpcgate::sigv4::{
    Credentials, EXECUTE_API, Incoming, PolicyView, SigningSettings, sign_request, verify_with,
};
use vpcgate::world::World;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/pattern-b.json");
    let s = Scenario::load(&path).unwrap();
    let (model, _) = s.build(&StackLinks::default()).unwrap();
    let (world, creds) = rt.block_on(async {
        // A clock on the host's time: SigV4 checks skew against it.
        let world = World::build(model.clone(), Clock::system()).unwrap();
        let session = Principal::assumed_role(&model.account, "eb-demo-pattern-b-role", "bench");
        let issued = world
            .iam
            .session_credentials(&session, world.clock.now_utc())
            .unwrap();
        let creds = Credentials::new(&issued.access_key_id, issued.secret_access_key.expose())
            .with_session_token(issued.session_token.expose());
        (world, creds)
    });
    let host = format!(
        "{}.execute-api.{}.amazonaws.com",
        model.apigw.rest_apis[0].id, model.region
    );
    let unsigned = http::Request::get(format!("https://{host}/prod/"))
        .header("host", host.as_str())
        .header("accept", "application/json")
        .body(Bytes::new())
        .unwrap();
    let mut signed = unsigned.clone();
    sign_request(
        &mut signed,
        &creds,
        &model.region,
        EXECUTE_API,
        world.clock.now(),
        &SigningSettings::default(),
    )
    .unwrap();
    let service = apigw::service(&world.apigw);
    let check = rt.block_on(service.handle(signed.clone()));
    assert_eq!(check.status(), 200, "{:?}", check.body());

    let mut group = c.benchmark_group("pattern_b");
    group.bench_function("full request (verify + policy + VPC link + ALB)", |b| {
        b.iter(|| {
            let resp = rt.block_on(service.handle(black_box(signed.clone())));
            assert_eq!(resp.status(), 200);
        })
    });
    group.bench_function("unsigned request refused (routing + 403)", |b| {
        b.iter(|| {
            let resp = rt.block_on(service.handle(black_box(unsigned.clone())));
            assert_eq!(resp.status(), 403);
        })
    });
    // As `apigw::auth::sigv4_caller` verifies: the policy borrowed, the stored key looked up
    // once (no copy of the credentials).
    let policy = PolicyView::execute_api(&model.region);
    group.bench_function("sigv4 verification alone", |b| {
        b.iter(|| {
            let incoming = Incoming::from_request(black_box(&signed));
            verify_with(&incoming, world.clock.now(), &policy, |id| {
                world.iam.key(id)
            })
            .map(|checked| checked.signed_header_names().count())
            .unwrap()
        })
    });
    // IAM alone: execute-api:Invoke for the execution role on the API's method ARN (identity
    // policies; the REST API's resource policy is evaluated by the full request above).
    let session = Principal::assumed_role(&model.account, "eb-demo-pattern-b-role", "bench");
    let method_arn = format!(
        "arn:aws:execute-api:{}:{}:{}/prod/GET/",
        model.region, model.account, model.apigw.rest_apis[0].id
    );
    let context = vpcgate::iam::RequestContext::for_request(world.clock.now_utc(), &model.region);
    let quiet = vpcgate::trace::Trace::disabled();
    let decide = || {
        world.iam.authorize(
            &session,
            "execute-api:Invoke",
            black_box(&method_arn),
            &context,
            None,
            &[],
            vpcgate::iam::DenialFormat::ApiGateway,
            &quiet,
        )
    };
    assert!(decide().is_ok(), "the role may invoke the method");
    group.bench_function("policy evaluation alone (execute-api:Invoke)", |b| {
        b.iter(|| decide().is_ok())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
