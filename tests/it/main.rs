//! Integration tests: the seed's experiments, run through the emulator.

mod architecture;
mod asl;
mod cloudformation_api;
mod compose;
mod corpus;
mod eventbridge;
mod fidelity;
mod fuzz;
mod hostile;
mod http_api;
mod http_task;
mod lattice_sn;
mod nlb;
mod openapi;
mod pattern_a;
mod pattern_b;
mod rebuild;
mod scenarios;
mod sdk;
mod serve;
mod serve_conventions;
mod sfn_serve;
mod templates;
mod ui;
mod virtual_time;
mod vpc_clients;
