"""Each test starts from the seed's world, whatever the others made (the `vpcgate` fixture
resets the server first)."""
import json
import time

SEED = ["eb-demo-pattern-a-private", "eb-demo-pattern-b-apigw"]
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def names(sfn):
    return sorted(m["name"] for m in sfn.list_state_machines()["stateMachines"])


def wait(sfn, arn):
    for _ in range(500):
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING":
            return d
        time.sleep(0.01)
    return d


def make_scratch(vpcgate, sfn, result):
    """Creates `scratch` returning `result`: a second CreateStateMachine with another definition
    would fail with StateMachineAlreadyExists if a test saw another test's machine."""
    definition = dict(PASS, States={"P": {"Type": "Pass", "Result": result, "End": True}})
    arn = sfn.create_state_machine(
        name="scratch",
        definition=json.dumps(definition),
        roleArn=vpcgate.states_role,
    )["stateMachineArn"]
    out = wait(sfn, sfn.start_execution(stateMachineArn=arn)["executionArn"])
    return json.loads(out["output"])


def test_the_seed_pattern_a_machine_returns_the_albs_response(sfn):
    assert names(sfn) == SEED
    arn = next(m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"] if m["name"] == SEED[0])
    out = wait(sfn, sfn.start_execution(stateMachineArn=arn)["executionArn"])
    assert out["status"] == "SUCCEEDED"
    assert json.loads(out["output"])["ResponseBody"] == {"status": "ok", "source": "internal-alb"}


def test_a_machine_made_here(vpcgate, sfn, events):
    assert names(sfn) == SEED
    assert make_scratch(vpcgate, sfn, {"test": "first"}) == {"test": "first"}
    events.create_connection(
        Name="scratch-connection",
        AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "v"}},
    )
    assert names(sfn) == SEED + ["scratch"]


def test_is_gone_in_the_next_test(vpcgate, sfn, events):
    assert names(sfn) == SEED
    connections = [c["Name"] for c in events.list_connections()["Connections"]]
    assert "scratch-connection" not in connections
    assert make_scratch(vpcgate, sfn, {"test": "second"}) == {"test": "second"}
