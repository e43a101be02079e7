//! State transitions per second on a chain of 1,000 Pass states.
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Map, Value, json};
use std::future::Future;
use std::pin::Pin;
use vpcgate::asl::{
    ExecutionConfig, StateMachine, StatesError, StopSignal, TaskHandler, TaskInvocation, run,
};

struct NoTasks;
impl TaskHandler for NoTasks {
    fn invoke<'a>(
        &'a self,
        _call: TaskInvocation,
    ) -> Pin<Box<dyn Future<Output = Result<Value, StatesError>> + Send + 'a>> {
        Box::pin(async { Ok(Value::Null) })
    }
}

fn chain(n: usize) -> String {
    let mut states = Map::new();
    for i in 0..n {
        let mut s = json!({"Type": "Pass", "Parameters": {"i": i, "v.$": "$.v"}});
        if i + 1 == n {
            s["End"] = json!(true);
        } else {
            s["Next"] = json!(format!("S{}", i + 1));
        }
        states.insert(format!("S{i}"), s);
    }
    json!({"StartAt": "S0", "States": states}).to_string()
}

fn bench(c: &mut Criterion) {
    const N: usize = 1000;
    let m = StateMachine::parse(&chain(N)).expect("valid chain");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let cfg = rt.block_on(async { ExecutionConfig::default() });
    let mut g = c.benchmark_group("pass_chain");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("1000_pass_states", |b| {
        b.iter(|| {
            rt.block_on(run(
                &m,
                json!({"v": 1}),
                cfg.clone(),
                &NoTasks,
                StopSignal::never(),
            ))
        })
    });
    g.finish();
    c.bench_function("parse_1000_state_definition", |b| {
        let def = chain(N);
        b.iter(|| StateMachine::parse(&def).expect("valid"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
