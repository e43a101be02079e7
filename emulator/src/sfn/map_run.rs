//! Map Runs of Distributed Map states and their child executions, as `serve` answers
//! DescribeMapRun, ListMapRuns, UpdateMapRun, and DescribeExecution / GetExecutionHistory /
//! ListExecutions (`mapRunArn`) / StopExecution of a child
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-examine-map-run.html>).
//!
//! The interpreter runs the children ([`crate::asl::MapRunObserver`]); this store keeps what the
//! API shows of them, within bounds: the newest [`MAX_MAP_RUNS`] Map Runs and [`MAX_CHILDREN`]
//! finished children (running ones are never forgotten).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::asl::{
    ChildExecution, ExecutionOutcome, ExecutionType, MapRunControl, MapRunInfo, MapRunObserver,
    StopHandle,
};

use super::execution::ExecutionRecord;

/// Most Map Runs kept (the oldest finished ones are forgotten first).
pub const MAX_MAP_RUNS: usize = 200;

/// Most finished child executions kept across Map Runs (oldest forgotten first). AWS keeps
/// closed executions for 90 days; vpcgate keeps a bounded number.
pub const MAX_CHILDREN: usize = 10_000;

/// One Map Run.
#[derive(Debug, Clone)]
pub struct MapRunRecord {
    /// ARNs and start date.
    pub info: MapRunInfo,
    /// Its live settings, counts and status.
    pub control: Arc<MapRunControl>,
}

#[derive(Debug, Default)]
struct Inner {
    runs: BTreeMap<String, MapRunRecord>,
    /// Map Run ARNs, oldest first.
    run_order: VecDeque<String>,
    children: BTreeMap<String, ExecutionRecord>,
    /// Finished children, oldest first.
    finished: VecDeque<String>,
    stops: BTreeMap<String, StopHandle>,
}

/// The Map Runs of one scope.
#[derive(Debug, Default)]
pub struct MapRuns {
    inner: Mutex<Inner>,
}

impl MapRuns {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A Map Run by ARN.
    pub fn get(&self, arn: &str) -> Option<MapRunRecord> {
        self.lock().runs.get(arn).cloned()
    }

    /// The Map Runs started by one execution, newest first.
    pub fn of_execution(&self, execution_arn: &str) -> Vec<MapRunRecord> {
        let g = self.lock();
        let mut v: Vec<MapRunRecord> = g
            .runs
            .values()
            .filter(|r| r.info.execution_arn == execution_arn)
            .cloned()
            .collect();
        v.sort_by_key(|r| std::cmp::Reverse(r.info.start_date));
        v
    }

    /// A child execution by ARN (its history live while it runs).
    pub fn child(&self, arn: &str) -> Option<ExecutionRecord> {
        self.lock().children.get(arn).cloned()
    }

    /// The children of a Map Run, newest first.
    pub fn children_of(&self, map_run_arn: &str) -> Vec<ExecutionRecord> {
        let g = self.lock();
        let mut v: Vec<ExecutionRecord> = g
            .children
            .values()
            .filter(|r| r.map_run_arn.as_deref() == Some(map_run_arn))
            .cloned()
            .collect();
        v.sort_by_key(|r| std::cmp::Reverse(r.start_date));
        v
    }

    /// Stops a running child; false when it is not running.
    pub fn stop_child(&self, arn: &str, error: Option<String>, cause: Option<String>) -> bool {
        match self.lock().stops.remove(arn) {
            Some(h) => {
                h.stop(error, cause);
                true
            }
            None => false,
        }
    }
}

impl MapRunObserver for MapRuns {
    fn map_run_started(&self, run: &MapRunInfo, control: Arc<MapRunControl>) {
        let mut g = self.lock();
        g.runs.insert(
            run.map_run_arn.clone(),
            MapRunRecord {
                info: run.clone(),
                control,
            },
        );
        g.run_order.push_back(run.map_run_arn.clone());
        // Forget the oldest finished Map Runs past the bound.
        let mut i = 0;
        while g.runs.len() > MAX_MAP_RUNS && i < g.run_order.len() {
            let arn = g.run_order[i].clone();
            let finished = g
                .runs
                .get(&arn)
                .is_none_or(|r| r.control.state().stop_date.is_some());
            if finished {
                g.runs.remove(&arn);
                g.run_order.remove(i);
            } else {
                i += 1;
            }
        }
    }

    fn child_started(&self, child: &ChildExecution) {
        // AWS keeps no describable record of an Express execution (as for top-level ones).
        if child.execution_type == ExecutionType::Express {
            return;
        }
        let record = ExecutionRecord::of_child(child);
        let mut g = self.lock();
        g.stops.insert(child.arn.clone(), child.stop.clone());
        g.children.insert(child.arn.clone(), record);
    }

    fn child_ended(&self, arn: &str, outcome: &ExecutionOutcome) {
        let mut g = self.lock();
        g.stops.remove(arn);
        let Some(r) = g.children.get_mut(arn) else {
            return;
        };
        let mut o = outcome.clone();
        // A child is not redriven on its own: its parent's redrive runs it again.
        o.redrive_point = None;
        r.outcome = Some(o);
        r.live = None;
        g.finished.push_back(arn.to_string());
        while g.finished.len() > MAX_CHILDREN {
            if let Some(old) = g.finished.pop_front() {
                g.children.remove(&old);
            }
        }
    }
}
