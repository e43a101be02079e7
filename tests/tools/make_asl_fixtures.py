#!/usr/bin/env python3
"""Writes fixtures/asl/<case>/{definition.json,input.json,expected.json,source.txt[,tasks.json]}.

Each case is an example from the AWS Step Functions developer guide (URL in source.txt)."""
import json, os, shutil
BASE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "asl")
DG = "https://docs.aws.amazon.com/step-functions/latest/dg/"
cases = {}

def case(name, url, definition, inp, expected, tasks=None):
    cases[name] = dict(url=url, definition=definition, input=inp, expected=expected, tasks=tasks)

def sm(states, start=None, **top):
    d = {"StartAt": start or next(iter(states)), "States": states}
    d.update(top)
    return d

lambda_input = {"comment": "This is a test of the input and output of a Task state.", "details": "Default example", "who": "AWS Step Functions"}
hello = {"HelloWorld": [{"result": "Hello, AWS Step Functions!"}]}
task = lambda **kw: dict({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}, **kw)

case("resultpath_replace", DG + "input-output-resultpath.html", sm({"HelloWorld": task()}), lambda_input,
     {"status": "SUCCEEDED", "output": "Hello, AWS Step Functions!"}, hello)
case("resultpath_null", DG + "input-output-resultpath.html", sm({"HelloWorld": task(ResultPath=None)}), lambda_input,
     {"status": "SUCCEEDED", "output": lambda_input}, hello)
case("resultpath_append", DG + "input-output-resultpath.html", sm({"HelloWorld": task(ResultPath="$.taskresult")}), lambda_input,
     {"status": "SUCCEEDED", "output": dict(lambda_input, taskresult="Hello, AWS Step Functions!")}, hello)
strings_in = {"comment": "An input comment.", "strings": {"string1": "foo", "string2": "bar", "string3": "baz"}, "who": "AWS Step Functions"}
case("resultpath_child_node", DG + "input-output-resultpath.html", sm({"HelloWorld": task(ResultPath="$.strings.lambdaresult")}), strings_in,
     {"status": "SUCCEEDED", "output": {"comment": "An input comment.", "strings": {"string1": "foo", "string2": "bar", "string3": "baz", "lambdaresult": "Hello, AWS Step Functions!"}, "who": "AWS Step Functions"}}, hello)
case("resultpath_update_node", DG + "input-output-resultpath.html", sm({"HelloWorld": task(ResultPath="$.comment")}), lambda_input,
     {"status": "SUCCEEDED", "output": dict(lambda_input, comment="Hello, AWS Step Functions!")}, hello)
case("resultpath_catch_error", DG + "input-output-resultpath.html",
     sm({"HelloWorld": task(End=None, Next="Done", Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Fallback", "ResultPath": "$.error"}]) | {"End": None} and {k: v for k, v in task(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Fallback", "ResultPath": "$.error"}]).items() if k != "End"} | {"Next": "Done"},
         "Fallback": {"Type": "Pass", "End": True}, "Done": {"Type": "Pass", "End": True}}),
     {"foo": "bar"},
     {"status": "SUCCEEDED", "output": {"foo": "bar", "error": {"Error": "Error", "Cause": "Cause description"}}},
     {"HelloWorld": [{"error": "Error", "cause": "Cause description"}]})

case("inputpath_dataset", DG + "input-output-inputpath-params.html",
     sm({"Select": {"Type": "Pass", "InputPath": "$.dataset2", "End": True}}),
     {"comment": "Example for InputPath.", "dataset1": {"val1": 1, "val2": 2, "val3": 3}, "dataset2": {"val1": "a", "val2": "b", "val3": "c"}},
     {"status": "SUCCEEDED", "output": {"val1": "a", "val2": "b", "val3": "c"}})
case("parameters_product", DG + "input-output-inputpath-params.html",
     sm({"Select": {"Type": "Pass", "Parameters": {"comment": "Selecting what I care about.", "MyDetails": {"size.$": "$.product.details.size", "exists.$": "$.product.availability", "StaticValue": "foo"}}, "End": True}}),
     {"comment": "Example for Parameters.", "product": {"details": {"color": "blue", "size": "small", "material": "cotton"}, "availability": "in stock", "sku": "2317", "cost": "$23"}},
     {"status": "SUCCEEDED", "output": {"comment": "Selecting what I care about.", "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"}}})
case("parameters_path_missing_is_runtime", DG + "concepts-error-handling.html",
     sm({"Glue": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync", "Parameters": {"JobName.$": "$.JobName"}, "End": True,
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]}, "Caught": {"Type": "Succeed"}}),
     {},
     {"status": "FAILED", "error": "States.Runtime", "cause_contains": "The JSONPath '$.JobName' specified for the field 'JobName.$' could not be found in the input '{}'"})
emr = {"resourceType": "elasticmapreduce", "resource": "createCluster.sync", "output": {"SdkHttpMetadata": {"HttpHeaders": {"Content-Length": "1112"}, "HttpStatusCode": 200}, "SdkResponseMetadata": {"RequestId": "1234-5678-9012"}, "ClusterId": "AKIAIOSFODNN7EXAMPLE"}}
case("resultselector_emr", DG + "input-output-inputpath-params.html",
     sm({"Step 1": {"Type": "Task", "Resource": "arn:aws:states:::elasticmapreduce:createCluster.sync", "ResultSelector": {"ClusterId.$": "$.output.ClusterId", "ResourceType.$": "$.resourceType"}, "ResultPath": "$.EMROutput", "End": True}}),
     {"cluster": "spec"},
     {"status": "SUCCEEDED", "output": {"cluster": "spec", "EMROutput": {"ClusterId": "AKIAIOSFODNN7EXAMPLE", "ResourceType": "elasticmapreduce"}}},
     {"Step 1": [{"result": emr}]})
case("outputpath_payload", DG + "input-output-outputpath.html",
     sm({"Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "OutputPath": "$.Payload", "End": True}}),
     {"who": "AWS Step Functions"},
     {"status": "SUCCEEDED", "output": {"greeting": "Hello, AWS Step Functions!"}},
     {"Invoke": [{"result": {"ExecutedVersion": "$LATEST", "Payload": {"greeting": "Hello, AWS Step Functions!"}, "StatusCode": 200}}]})
case("outputpath_null_input_filter_combo", DG + "input-output-example.html",
     sm({"Filter": {"Type": "Pass", "InputPath": "$.lambda", "Parameters": {"x.$": "$.val"}, "ResultPath": "$.data", "OutputPath": "$.data", "End": True}}),
     {"lambda": {"val": 3}, "other": 1},
     {"status": "SUCCEEDED", "output": {"x": 3}})
case("pass_result_coords", DG + "state-pass.html",
     sm({"No-op": {"Type": "Pass", "Result": {"x-datum": 0.381018, "y-datum": 622.2269926397355}, "ResultPath": "$.coords", "End": True}}),
     {"georefOf": "Home"},
     {"status": "SUCCEEDED", "output": {"georefOf": "Home", "coords": {"x-datum": 0.381018, "y-datum": 622.2269926397355}}})
case("context_object", DG + "input-output-contextobject.html",
     sm({"Ctx": {"Type": "Pass", "Parameters": {"id.$": "$$.Execution.Id", "name.$": "$$.Execution.Name", "state.$": "$$.State.Name", "entered.$": "$$.State.EnteredTime", "start.$": "$$.Execution.StartTime", "sm.$": "$$.StateMachine.Name", "retry.$": "$$.State.RetryCount", "input.$": "$$.Execution.Input", "redrive.$": "$$.Execution.RedriveCount"}, "End": True}}),
     {"a": 1},
     {"status": "SUCCEEDED", "output": {"id": "arn:aws:states:us-east-1:123456789012:execution:vpcgate:local", "name": "local", "state": "Ctx", "entered": "2015-08-30T12:36:00.000Z", "start": "2015-08-30T12:36:00.000Z", "sm": "vpcgate", "retry": 0, "input": {"a": 1}, "redrive": 0}})

case("intrinsics_mix", DG + "intrinsic-functions.html",
     sm({"I": {"Type": "Pass", "Parameters": {
         "greeting.$": "States.Format('Hello, my name is {}.', $.name)",
         "parts.$": "States.ArrayPartition($.inputArray, 4)",
         "has.$": "States.ArrayContains($.inputArray, 5)",
         "range.$": "States.ArrayRange(1, 9, 2)",
         "item.$": "States.ArrayGetItem($.inputArray, 5)",
         "len.$": "States.ArrayLength($.inputArray)",
         "uniq.$": "States.ArrayUnique($.dups)",
         "b64.$": "States.Base64Encode('Data to encode')",
         "plain.$": "States.Base64Decode('RGF0YSB0byBlbmNvZGU=')",
         "sha1.$": "States.Hash('input data', 'SHA-1')",
         "merged.$": "States.JsonMerge($.json1, $.json2, false)",
         "sum.$": "States.MathAdd(111, -1)",
         "split.$": "States.StringSplit('This.is+a,test=string', '.+,=')",
         "json.$": "States.StringToJson('{\"foo\": \"bar\"}')",
         "str.$": "States.JsonToString($.json1)",
         "arr.$": "States.Array('a', 1, $.name)",
         "escaped.$": "States.Format('\\{\\} it\\'s {}', 'ok')",
         "myArn.$": "States.Format('{}.{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1), 'x')"
     }, "End": True}}),
     {"name": "Arnav", "inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "dups": [1, 2, 3, 3, 3, 3, 3, 3, 4], "json1": {"a": {"a1": 1, "a2": 2}, "b": 2}, "json2": {"a": {"a3": 1, "a4": 2}, "c": 3},
      "ImageRecipe": {"Arn": "arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/sample-recipe.v1/1.0.0"}},
     {"status": "SUCCEEDED", "output": {
         "greeting": "Hello, my name is Arnav.", "parts": [[1, 2, 3, 4], [5, 6, 7, 8], [9]], "has": True, "range": [1, 3, 5, 7, 9], "item": 6, "len": 9,
         "uniq": [1, 2, 3, 4], "b64": "RGF0YSB0byBlbmNvZGU=", "plain": "Data to encode", "sha1": "aaff4a450a104cd177d28d18d74485e8cae074b7",
         "merged": {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}, "sum": 110, "split": ["This", "is", "a", "test", "string"], "json": {"foo": "bar"},
         "str": "{\"a\":{\"a1\":1,\"a2\":2},\"b\":2}", "arr": ["a", 1, "Arnav"], "escaped": "{} it's ok", "myArn": "1.0.x"}})
case("intrinsic_failure_caught", DG + "concepts-error-handling.html",
     sm({"I": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "Parameters": {"x.$": "States.ArrayGetItem($.a, 9)"}, "End": True,
               "Catch": [{"ErrorEquals": ["States.IntrinsicFailure"], "Next": "C"}]}, "C": {"Type": "Pass", "End": True}}),
     {"a": [1]},
     {"status": "SUCCEEDED", "output_error": "States.IntrinsicFailure"})

choice_def = sm({
    "ChoiceStateX": {"Type": "Choice", "Choices": [
        {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
        {"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"},
        {"And": [{"Variable": "$.value", "NumericGreaterThanEquals": 20}, {"Variable": "$.value", "NumericLessThan": 30}], "Next": "ValueInTwenties"}],
        "Default": "DefaultState"},
    "Public": {"Type": "Pass", "Result": "public", "End": True},
    "ValueIsZero": {"Type": "Pass", "Result": "zero", "End": True},
    "ValueInTwenties": {"Type": "Pass", "Result": "twenties", "End": True},
    "DefaultState": {"Type": "Fail", "Error": "DefaultStateError", "Cause": "No Matches!"}})
case("choice_public", DG + "state-choice.html", choice_def, {"type": "Public", "value": 5}, {"status": "SUCCEEDED", "output": "public"})
case("choice_twenties", DG + "state-choice.html", choice_def, {"type": "Private", "value": 22}, {"status": "SUCCEEDED", "output": "twenties"})
case("choice_zero", DG + "state-choice.html", choice_def, {"type": "Private", "value": 0}, {"status": "SUCCEEDED", "output": "zero"})
case("choice_default_fail", DG + "state-choice.html", choice_def, {"type": "Private", "value": 50}, {"status": "FAILED", "error": "DefaultStateError", "cause": "No Matches!"})
case("choice_no_match", DG + "state-choice.html",
     sm({"C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "P"}]}, "P": {"Type": "Succeed"}}),
     {"y": 1}, {"status": "FAILED", "error": "States.NoChoiceMatched"})
case("choice_operators", DG + "state-choice.html",
     sm({"C": {"Type": "Choice", "Choices": [
         {"And": [
             {"Variable": "$.s", "StringMatches": "log-*.txt"},
             {"Variable": "$.t", "TimestampLessThanEquals": "2016-03-14T02:00:00Z"},
             {"Variable": "$.t", "IsTimestamp": True},
             {"Variable": "$.b", "BooleanEquals": True},
             {"Variable": "$.n", "IsNull": True},
             {"Variable": "$.missing", "IsPresent": False},
             {"Variable": "$.x", "NumericLessThanPath": "$.y"},
             {"Variable": "$.s", "StringEqualsPath": "$.s2"},
             {"Or": [{"Variable": "$.x", "IsString": True}, {"Variable": "$.x", "IsNumeric": True}]}],
          "Next": "Yes"}], "Default": "No"},
         "Yes": {"Type": "Pass", "Result": "yes", "End": True}, "No": {"Type": "Pass", "Result": "no", "End": True}}),
     {"s": "log-2016.txt", "s2": "log-2016.txt", "t": "2016-03-14T01:59:00Z", "b": True, "n": None, "x": 1, "y": 2},
     {"status": "SUCCEEDED", "output": "yes"})

case("wait_seconds", DG + "state-wait.html", sm({"wait_ten_seconds": {"Type": "Wait", "Seconds": 10, "End": True}}), {"a": 1},
     {"status": "SUCCEEDED", "output": {"a": 1}, "elapsed_seconds": 10})
case("wait_timestamp", DG + "state-wait.html", sm({"wait_until": {"Type": "Wait", "Timestamp": "2015-08-30T13:36:00Z", "End": True}}), {},
     {"status": "SUCCEEDED", "output": {}, "elapsed_seconds": 3600})
case("wait_secondspath", DG + "state-wait.html", sm({"wait_ten_seconds_path": {"Type": "Wait", "SecondsPath": "$.waitseconds", "End": True}}), {"waitseconds": 3600},
     {"status": "SUCCEEDED", "output": {"waitseconds": 3600}, "elapsed_seconds": 3600})
case("wait_timestamppath", DG + "state-wait.html", sm({"wait_until": {"Type": "Wait", "TimestampPath": "$.expirydate", "End": True}}), {"expirydate": "2015-08-30T12:37:00Z"},
     {"status": "SUCCEEDED", "output": {"expirydate": "2015-08-30T12:37:00Z"}, "elapsed_seconds": 60})

case("parallel_lookup", DG + "state-parallel.html",
     sm({"LookupCustomerInfo": {"Type": "Parallel", "End": True, "Branches": [
         {"StartAt": "LookupAddress", "States": {"LookupAddress": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:AddressFinder", "End": True}}},
         {"StartAt": "LookupPhone", "States": {"LookupPhone": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:PhoneFinder", "End": True}}}]}}),
     {"customer": "c1"},
     {"status": "SUCCEEDED", "output": [{"address": "1 Main St"}, {"phone": "555-0100"}]},
     {"LookupAddress": [{"result": {"address": "1 Main St"}, "delay": 2}], "LookupPhone": [{"result": {"phone": "555-0100"}, "delay": 1}]})
case("parallel_branch_failure_caught", DG + "state-parallel.html",
     sm({"P": {"Type": "Parallel", "Next": "Ok", "Branches": [
         {"StartAt": "A", "States": {"A": {"Type": "Fail", "Error": "CustomError", "Cause": "branch A"}}},
         {"StartAt": "B", "States": {"B": {"Type": "Wait", "Seconds": 100, "End": True}}}],
         "Catch": [{"ErrorEquals": ["CustomError"], "ResultPath": "$.err", "Next": "Handled"}]},
         "Ok": {"Type": "Succeed"}, "Handled": {"Type": "Pass", "End": True}}),
     {"in": 1},
     {"status": "SUCCEEDED", "output": {"in": 1, "err": {"Error": "CustomError", "Cause": "branch A"}}, "elapsed_seconds": 0})

ship = {"ship-date": "2016-03-14T01:59:00Z", "detail": {"delivery-partner": "UQS", "shipped": [{"prod": "R31", "dest-code": 9511, "quantity": 1344}, {"prod": "S39", "dest-code": 9511, "quantity": 40}]}}
case("map_itemselector_ship", DG + "input-output-itemselector.html",
     sm({"Validate-All": {"Type": "Map", "InputPath": "$.detail", "ItemsPath": "$.shipped", "MaxConcurrency": 0,
                          "ItemSelector": {"parcel.$": "$$.Map.Item.Value", "courier.$": "$.delivery-partner", "index.$": "$$.Map.Item.Index"},
                          "ItemProcessor": {"StartAt": "Validate", "States": {"Validate": {"Type": "Pass", "End": True}}},
                          "ResultPath": "$.detail.shipped", "End": True}}),
     ship,
     {"status": "SUCCEEDED", "output": {"ship-date": "2016-03-14T01:59:00Z", "detail": {"delivery-partner": "UQS", "shipped": [
         {"parcel": {"prod": "R31", "dest-code": 9511, "quantity": 1344}, "courier": "UQS", "index": 0},
         {"parcel": {"prod": "S39", "dest-code": 9511, "quantity": 40}, "courier": "UQS", "index": 1}]}}})
case("map_legacy_iterator_parameters", DG + "state-map-inline.html",
     sm({"M": {"Type": "Map", "ItemsPath": "$.items", "Parameters": {"v.$": "$$.Map.Item.Value"}, "Iterator": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "End": True}}),
     {"items": [1, 2, 3]},
     {"status": "SUCCEEDED", "output": [{"v": 1}, {"v": 2}, {"v": 3}]})
case("map_max_concurrency_timing", DG + "state-map-inline.html",
     sm({"M": {"Type": "Map", "MaxConcurrency": 2, "ItemProcessor": {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 10, "End": True}}}, "End": True}}),
     [1, 2, 3, 4, 5],
     {"status": "SUCCEEDED", "output": [1, 2, 3, 4, 5], "elapsed_seconds": 30})
case("map_tolerated_failures", DG + "state-map-distributed.html",
     sm({"M": {"Type": "Map", "ToleratedFailureCount": 1, "ItemProcessor": {"StartAt": "C", "States": {
         "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "F"}], "Default": "P"},
         "F": {"Type": "Fail", "Error": "Bad", "Cause": "two"}, "P": {"Type": "Pass", "End": True}}}, "End": True}}),
     [1, 2, 3],
     {"status": "SUCCEEDED", "output": [1, {"Error": "Bad", "Cause": "two"}, 3]})
case("map_exceed_tolerated", DG + "state-map-distributed.html",
     sm({"M": {"Type": "Map", "ToleratedFailurePercentage": 10, "ItemProcessor": {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Bad"}}}, "End": True}}),
     [1, 2],
     {"status": "FAILED", "error": "States.ExceedToleratedFailureThreshold"})

# Error handling
case("retry_complex_scenario", DG + "concepts-error-handling.html",
     sm({"X": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:task:X", "Next": "Y",
               "Retry": [{"ErrorEquals": ["ErrorA", "ErrorB"], "IntervalSeconds": 1, "BackoffRate": 2.0, "MaxAttempts": 2}, {"ErrorEquals": ["ErrorC"], "IntervalSeconds": 5}],
               "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Z"}]},
         "Y": {"Type": "Succeed"}, "Z": {"Type": "Pass", "Result": "Z", "End": True}}),
     {},
     {"status": "SUCCEEDED", "output": "Z", "elapsed_seconds": 8, "task_calls": {"X": 4}},
     {"X": [{"error": "ErrorA"}, {"error": "ErrorB"}, {"error": "ErrorC"}, {"error": "ErrorB"}, {"error": "ErrorB"}]})
case("retry_timeout_then_succeed", DG + "concepts-error-handling.html",
     sm({"T": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "TimeoutSeconds": 5, "End": True,
               "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 3, "MaxAttempts": 2, "BackoffRate": 1.5}]}}),
     {},
     {"status": "SUCCEEDED", "output": {"ok": True}, "elapsed_seconds": 17.5, "task_calls": {"T": 3}},
     {"T": [{"delay": 100, "result": {}}, {"delay": 100, "result": {}}, {"result": {"ok": True}}]})
case("retry_states_all_not_runtime", DG + "concepts-error-handling.html",
     sm({"T": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "OutputPath": "$.missing", "End": True,
               "Retry": [{"ErrorEquals": ["States.ALL"]}], "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}]}, "C": {"Type": "Succeed"}}),
     {},
     {"status": "FAILED", "error": "States.Runtime", "task_calls": {"T": 1}},
     {"T": [{"result": {"a": 1}}]})
case("retry_max_attempts_zero", DG + "concepts-error-handling.html",
     sm({"T": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": True,
               "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 0}, {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "MaxAttempts": 1}]}}),
     {},
     {"status": "FAILED", "error": "Boom", "elapsed_seconds": 2, "task_calls": {"T": 2}},
     {"T": [{"error": "Boom"}]})
case("task_failed_wildcard", DG + "concepts-error-handling.html",
     sm({"T": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "TimeoutSeconds": 1, "End": True,
               "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "A"}, {"ErrorEquals": ["States.Timeout"], "Next": "B"}]},
         "A": {"Type": "Pass", "Result": "A", "End": True}, "B": {"Type": "Pass", "Result": "B", "End": True}}),
     {},
     {"status": "SUCCEEDED", "output": "B", "elapsed_seconds": 1},
     {"T": [{"delay": 10, "result": {}}]})
case("fail_state", DG + "state-fail.html",
     sm({"FailState": {"Type": "Fail", "Error": "ErrorA", "Cause": "Kaiju attack"}}), {},
     {"status": "FAILED", "error": "ErrorA", "cause": "Kaiju attack"})
case("fail_state_paths", DG + "state-fail.html",
     sm({"FailState": {"Type": "Fail", "ErrorPath": "$.Error", "CausePath": "$.Cause"}}), {"Error": "CustomError", "Cause": "from input"},
     {"status": "FAILED", "error": "CustomError", "cause": "from input"})
case("execution_timeout", DG + "statemachine-structure.html",
     sm({"W": {"Type": "Wait", "Seconds": 100, "End": True}}, TimeoutSeconds=30), {},
     {"status": "TIMED_OUT", "error": "States.Timeout", "elapsed_seconds": 30})
case("express_five_minute_cap", DG + "concepts-standard-vs-express.html",
     sm({"W": {"Type": "Wait", "Seconds": 3600, "End": True}}), {},
     {"status": "TIMED_OUT", "error": "States.Timeout", "elapsed_seconds": 300, "type": "EXPRESS"})
case("data_limit_exceeded", DG + "service-quotas.html",
     sm({"Big": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": True, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}]}, "C": {"Type": "Succeed"}}), {},
     {"status": "FAILED", "error": "States.DataLimitExceeded"},
     {"Big": [{"result_bytes": 300000}]})
case("resultpath_match_failure", DG + "concepts-error-handling.html",
     sm({"P": {"Type": "Pass", "Result": 1, "ResultPath": "$.a.b", "End": True}}), {"a": "string"},
     {"status": "FAILED", "error": "States.ResultPathMatchFailure"})
case("inputpath_missing_runtime", DG + "concepts-error-handling.html",
     sm({"P": {"Type": "Pass", "InputPath": "$.nope", "End": True}}), {"a": 1},
     {"status": "FAILED", "error": "States.Runtime"})

# JSONata and variables
case("jsonata_conversion_example", DG + "transforming-data.html",
     sm({"Assign": {"Type": "Pass", "Assign": {"customerName": "María"}, "Next": "JP"},
         "JP": {"Type": "Pass", "QueryLanguage": "JSONPath", "Parameters": {"static": "Hello", "title.$": "$.title", "name.$": "$customerName", "not-evaluated": "$customerName"}, "ResultPath": "$.jsonpath", "Next": "JA"},
         "JA": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": {"fromJsonPath": "{% $states.input.jsonpath %}", "fromJsonata": {"static": "Hello", "title": "{% $states.input.title %}", "name": "{% $customerName %}", "not-evaluated": "$customerName"}}, "End": True}}),
     {"title": "Doctor"},
     {"status": "SUCCEEDED", "output": {"fromJsonPath": {"static": "Hello", "title": "Doctor", "name": "María", "not-evaluated": "$customerName"},
                                        "fromJsonata": {"static": "Hello", "title": "Doctor", "name": "María", "not-evaluated": "$customerName"}}})
case("jsonata_task_arguments_output", DG + "transforming-data.html",
     sm({"Call": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "Arguments": {"ApiEndpoint": "{% 'https://example.com/' & $states.input.path %}", "Method": "GET"},
                  "Output": {"status": "{% $states.result.StatusCode %}", "count": "{% $count($states.result.ResponseBody.items) %}"}, "Assign": {"lastStatus": "{% $states.result.StatusCode %}"}, "Next": "Done"},
         "Done": {"Type": "Pass", "Output": {"out": "{% $states.input %}", "var": "{% $lastStatus %}"}, "End": True}}, QueryLanguage="JSONata"),
     {"path": "items"},
     {"status": "SUCCEEDED", "output": {"out": {"status": 200, "count": 3}, "var": 200}, "task_params": {"Call": {"ApiEndpoint": "https://example.com/items", "Method": "GET"}}},
     {"Call": [{"result": {"StatusCode": 200, "ResponseBody": {"items": [1, 2, 3]}}}]})
case("jsonata_choice_condition", DG + "state-choice.html",
     sm({"C": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.age >= 18 %}", "Next": "Adult", "Output": {"who": "adult"}}], "Default": "Minor"},
         "Adult": {"Type": "Succeed"}, "Minor": {"Type": "Pass", "Output": {"who": "minor"}, "End": True}}, QueryLanguage="JSONata"),
     {"age": 21}, {"status": "SUCCEEDED", "output": {"who": "adult"}})
case("jsonata_catch_error_output", DG + "transforming-data.html",
     sm({"T": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": True,
               "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H", "Output": {"err": "{% $states.errorOutput.Error %}", "in": "{% $states.input.x %}"}, "Assign": {"failed": True}}]},
         "H": {"Type": "Pass", "Output": {"handled": "{% $states.input %}", "flag": "{% $failed %}"}, "End": True}}, QueryLanguage="JSONata"),
     {"x": 7}, {"status": "SUCCEEDED", "output": {"handled": {"err": "Oops", "in": 7}, "flag": True}},
     {"T": [{"error": "Oops", "cause": "bad"}]})
case("jsonata_query_evaluation_error", DG + "transforming-data.html",
     sm({"P": {"Type": "Pass", "Output": "{% $states.input.nothing %}", "End": True}}, QueryLanguage="JSONata"), {},
     {"status": "FAILED", "error": "States.QueryEvaluationError"})
case("jsonata_map_items", DG + "state-map-inline.html",
     sm({"M": {"Type": "Map", "Items": "{% $states.input.nums %}", "ItemSelector": {"n": "{% $states.context.Map.Item.Value %}", "i": "{% $states.context.Map.Item.Index %}"},
               "ItemProcessor": {"StartAt": "D", "States": {"D": {"Type": "Pass", "Output": "{% $states.input.n * 2 + $states.input.i %}", "End": True}}}, "Output": "{% $sum($states.result) %}", "End": True}}, QueryLanguage="JSONata"),
     {"nums": [1, 2, 3]}, {"status": "SUCCEEDED", "output": 15})
case("jsonata_wait_and_functions", DG + "transforming-data.html",
     sm({"W": {"Type": "Wait", "Seconds": "{% $states.input.s %}", "Next": "F"},
         "F": {"Type": "Pass", "Output": {"p": "{% $partition([1,2,3,4,5,6,7,8,9], 3) %}", "r": "{% $range(0, 10, 2) %}", "h": "{% $hash('input data', 'SHA-1') %}", "j": "{% $parse('{\"a\":1}') %}", "now": "{% $now() %}"}, "End": True}}, QueryLanguage="JSONata"),
     {"s": 60},
     {"status": "SUCCEEDED", "elapsed_seconds": 60, "output": {"p": [[1, 2, 3], [4, 5, 6], [7, 8, 9]], "r": [0, 2, 4, 6, 8, 10], "h": "aaff4a450a104cd177d28d18d74485e8cae074b7", "j": {"a": 1}, "now": "2015-08-30T12:37:00.000Z"}})
case("variables_parallel_scope", DG + "workflow-variables.html",
     sm({"Set": {"Type": "Pass", "Assign": {"outer": "o"}, "Next": "Par"},
         "Par": {"Type": "Parallel", "Branches": [
             {"StartAt": "Read", "States": {"Read": {"Type": "Pass", "Assign": {"inner": "i"}, "Output": {"seen": "{% $outer %}"}, "End": True}}}],
             "Next": "After"},
         "After": {"Type": "Pass", "Output": {"result": "{% $states.input %}", "outer": "{% $outer %}", "innerVisible": "{% $exists($inner) %}"}, "End": True}}, QueryLanguage="JSONata"),
     {}, {"status": "SUCCEEDED", "output": {"result": [{"seen": "o"}], "outer": "o", "innerVisible": False}})
case("variables_jsonpath_assign", DG + "workflow-variables.html",
     sm({"T": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "ResultSelector": {"id.$": "$.Id"}, "Assign": {"savedId.$": "$.id", "const": 5}, "ResultPath": None, "Next": "U"},
         "U": {"Type": "Pass", "Parameters": {"id.$": "$savedId", "c.$": "$const", "ctx.$": "$$.State.Name"}, "End": True}}),
     {}, {"status": "SUCCEEDED", "output": {"id": "abc", "c": 5, "ctx": "U"}},
     {"T": [{"result": {"Id": "abc"}}]})
case("assign_sees_entry_values", DG + "workflow-variables.html",
     sm({"A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "B"},
         "B": {"Type": "Pass", "Assign": {"x": "{% $x + 1 %}", "y": "{% $x %}"}, "Next": "C"},
         "C": {"Type": "Pass", "Output": {"x": "{% $x %}", "y": "{% $y %}"}, "End": True}}, QueryLanguage="JSONata"),
     {}, {"status": "SUCCEEDED", "output": {"x": 2, "y": 1}})

# Definition errors
case("invalid_missing_next_target", "https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinitionDiagnostic.html",
     sm({"A": {"Type": "Pass", "Next": "Nope"}}), {}, {"definition_error": ["MISSING_TRANSITION_TARGET"], "message_contains": "Missing 'Next' target: Nope at /States/A/Next"})
case("invalid_unreachable_and_missing_next", "https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinitionDiagnostic.html",
     sm({"A": {"Type": "Pass", "End": True}, "Orphan": {"Type": "Pass", "End": True}, "Foo": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke"}}, start="A"), {},
     {"definition_error": ["SCHEMA_VALIDATION_FAILED", "UNREACHABLE_STATE", "UNREACHABLE_STATE"], "message_contains": "'SCHEMA_VALIDATION_FAILED: The field \"Next\" should be non-null at /States/Foo'"})
case("invalid_distributed_map", DG + "state-map-distributed.html",
     sm({"M": {"Type": "Map", "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
               "ItemReader": {"Resource": "arn:aws:states:::s3:getObject"}, "End": True}}), {},
     {"definition_error": ["SCHEMA_VALIDATION_FAILED"], "message_contains": "which vpcgate does not emulate"})
case("invalid_states_all_not_last", DG + "concepts-error-handling.html",
     sm({"T": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": True,
               "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}], "Catch": [{"ErrorEquals": ["States.ALL", "X"], "Next": "T"}]}}), {},
     {"definition_error": ["SCHEMA_VALIDATION_FAILED", "SCHEMA_VALIDATION_FAILED"]})
case("invalid_jsonpath_fields_in_jsonata", DG + "transforming-data.html",
     sm({"P": {"Type": "Pass", "InputPath": "$.x", "Parameters": {"a.$": "$.b"}, "End": True}}, QueryLanguage="JSONata"), {},
     {"definition_error": ["SCHEMA_VALIDATION_FAILED", "SCHEMA_VALIDATION_FAILED"], "message_contains": "not supported when QueryLanguage is JSONata"})
case("invalid_heartbeat_not_below_timeout", DG + "state-task.html",
     sm({"T": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "TimeoutSeconds": 10, "HeartbeatSeconds": 10, "End": True}}), {},
     {"definition_error": ["SCHEMA_VALIDATION_FAILED"]})
case("invalid_bad_intrinsic_and_path", DG + "intrinsic-functions.html",
     sm({"P": {"Type": "Pass", "Parameters": {"a.$": "States.Nope(1)", "b.$": "$.x[", "c.$": "States.Format('\\q')"}, "ResultPath": "$.a[*]", "End": True}}), {},
     {"definition_error": ["SCHEMA_VALIDATION_FAILED", "SCHEMA_VALIDATION_FAILED", "SCHEMA_VALIDATION_FAILED", "SCHEMA_VALIDATION_FAILED"]})

NOTES = {
    "retry_complex_scenario": "(\"Complex retry scenarios\": ErrorA, ErrorB wait 1 s and 2 s on the first retrier, ErrorC waits 5 s on the second, the next ErrorB finds the first retrier exhausted (MaxAttempts 2) and goes to Catch -> Z: 4 calls, 8 s.)\n",
    "parameters_path_missing_is_runtime": "(Cause text as recorded from a real execution history: States.Runtime, \"The JSONPath '$.JobName' specified for the field 'JobName.$' could not be found in the input '{}'\".)\n",
    "map_tolerated_failures": "(ToleratedFailureCount is documented for Distributed Map; vpcgate also honours it on inline Map and puts the failed item's error output at its index: unconfirmed against AWS.)\n",
}

if os.path.isdir(BASE):
    shutil.rmtree(BASE)
for name, c in cases.items():
    d = os.path.join(BASE, name)
    os.makedirs(d)
    def w(fn, v):
        with open(os.path.join(d, fn), "w", encoding="utf-8") as f:
            json.dump(v, f, indent=2, ensure_ascii=False)
            f.write("\n")
    w("definition.json", c["definition"])
    w("input.json", c["input"])
    w("expected.json", c["expected"])
    if c["tasks"] is not None:
        w("tasks.json", c["tasks"])
    with open(os.path.join(d, "source.txt"), "w") as f:
        f.write(c["url"] + "\n" + NOTES.get(name, ""))
print(len(cases), "cases")
print("\n".join(sorted(cases)))
