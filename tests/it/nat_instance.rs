//! NAT instances: a private subnet reaches the internet through an instance with
//! source/destination checks off (<https://docs.aws.amazon.com/vpc/latest/userguide/VPC_NAT_Instance.html>,
//! "Disable source/destination checks"; a route's `InstanceId` in
//! <https://docs.aws.amazon.com/vpc/latest/userguide/VPC_Route_Tables.html>), and the ways it
//! does not: the check left on, the NAT instance's group not admitting the traffic, the NAT
//! instance's subnet without a route to the internet gateway. Each reads like a seed experiment:
//! a template, a request `From` the client instance, what the trace says.

use serde_json::{Value, json};
use vpcgate::scenario::Scenario;

/// The experiment: `PublicSubnet` (routes 0.0.0.0/0 to the internet gateway) holds `NatInstance`
/// (`SourceDestCheck: false`, an Elastic IP, `NatGroup` admitting 443 from the private subnet);
/// `PrivateSubnet` routes 0.0.0.0/0 to the NAT instance and holds `Client`, which calls API
/// Gateway's control plane (`GET /restapis`, signed as `ClientRole`) on its public endpoint.
/// `expect` is the case's `Expect`; `change` edits the template first.
fn experiment(expect: Value, change: impl FnOnce(&mut Value)) -> Scenario {
    let mut doc = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Vpcgate": {
            "Region": "ap-northeast-1",
            "AccountId": "123456789012",
            "StackName": "nat-instance",
            "Clock": "2026-06-14T03:00:00Z",
            "Cases": [{
                "Name": "control-plane-from-the-private-subnet",
                "Request": {
                    "From": "Client",
                    "Url": "https://apigateway.ap-northeast-1.amazonaws.com/restapis",
                    "Sign": {"As": "ClientRole", "Service": "apigateway"},
                    "TimeoutSeconds": 60
                },
                "Expect": expect
            }]
        },
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
            "PublicSubnet": {"Type": "AWS::EC2::Subnet", "Properties": {
                "VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.0.0/24",
                "AvailabilityZone": "ap-northeast-1a"}},
            "PrivateSubnet": {"Type": "AWS::EC2::Subnet", "Properties": {
                "VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.2.0/24",
                "AvailabilityZone": "ap-northeast-1a"}},
            "Igw": {"Type": "AWS::EC2::InternetGateway"},
            "IgwAttachment": {"Type": "AWS::EC2::VPCGatewayAttachment", "Properties": {
                "VpcId": {"Ref": "Vpc"}, "InternetGatewayId": {"Ref": "Igw"}}},
            "PublicRouteTable": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
            "PublicDefaultRoute": {"Type": "AWS::EC2::Route", "DependsOn": "IgwAttachment", "Properties": {
                "RouteTableId": {"Ref": "PublicRouteTable"}, "DestinationCidrBlock": "0.0.0.0/0",
                "GatewayId": {"Ref": "Igw"}}},
            "PublicAssociation": {"Type": "AWS::EC2::SubnetRouteTableAssociation", "Properties": {
                "SubnetId": {"Ref": "PublicSubnet"}, "RouteTableId": {"Ref": "PublicRouteTable"}}},
            "NatGroup": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
                "GroupDescription": "NAT instance: HTTPS from the private subnet",
                "VpcId": {"Ref": "Vpc"},
                "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                                          "CidrIp": "10.0.2.0/24"}]}},
            "NatInstance": {"Type": "AWS::EC2::Instance", "Properties": {
                "ImageId": "ami-0abcdef1234567890", "InstanceType": "t3.micro",
                "SubnetId": {"Ref": "PublicSubnet"},
                "SecurityGroupIds": [{"Ref": "NatGroup"}],
                "SourceDestCheck": false}},
            "NatEip": {"Type": "AWS::EC2::EIP", "Properties": {
                "Domain": "vpc", "InstanceId": {"Ref": "NatInstance"}}},
            "PrivateRouteTable": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
            "PrivateDefaultRoute": {"Type": "AWS::EC2::Route", "Properties": {
                "RouteTableId": {"Ref": "PrivateRouteTable"}, "DestinationCidrBlock": "0.0.0.0/0",
                "InstanceId": {"Ref": "NatInstance"}}},
            "PrivateAssociation": {"Type": "AWS::EC2::SubnetRouteTableAssociation", "Properties": {
                "SubnetId": {"Ref": "PrivateSubnet"}, "RouteTableId": {"Ref": "PrivateRouteTable"}}},
            "ClientGroup": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
                "GroupDescription": "client: all out", "VpcId": {"Ref": "Vpc"},
                "SecurityGroupEgress": [{"IpProtocol": -1, "CidrIp": "0.0.0.0/0"}]}},
            "Client": {"Type": "AWS::EC2::Instance", "Properties": {
                "ImageId": "ami-0abcdef1234567890", "InstanceType": "t3.micro",
                "SubnetId": {"Ref": "PrivateSubnet"},
                "SecurityGroupIds": [{"Ref": "ClientGroup"}]}},
            "ClientRole": {"Type": "AWS::IAM::Role", "Properties": {
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                    "Action": "sts:AssumeRole"}]},
                "Policies": [{"PolicyName": "read-apis", "PolicyDocument": {
                    "Version": "2012-10-17", "Statement": [{
                        "Effect": "Allow", "Action": "apigateway:GET", "Resource": "*"}]}}]}}
        }
    });
    change(&mut doc);
    Scenario::parse(&doc.to_string(), "nat-instance.json").unwrap_or_else(|e| panic!("{e}"))
}

/// What a dropped SYN looks like: the client's 60 s time-out, and `reason` in the trace.
fn dropped(reason: &str) -> Value {
    json!({
        "OutputIncludes": {"Error": "TIMEOUT"},
        "ElapsedSeconds": 60,
        "TraceContains": ["A 198.51.100.13", reason, "the SYN goes unanswered"]
    })
}

fn properties<'a>(doc: &'a mut Value, logical_id: &str) -> &'a mut Value {
    &mut doc["Resources"][logical_id]["Properties"]
}

#[test]
fn a_private_subnet_reaches_the_internet_through_a_nat_instance() {
    let s = experiment(
        json!({
            "OutputIncludes": {"StatusCode": 200},
            "TraceContains": [
                "A 198.51.100.13",
                "0.0.0.0/0 -> i-",
                "(NAT instance in subnet-",
                "-> igw-",
                "ingress of i-",
                "(NAT instance) allows tcp/443 from 10.0.2.",
                "(NAT instance) allows tcp/443 to 198.51.100.13",
                "accepted a connection from 203.0.113."
            ]
        }),
        |_| {},
    );
    let outcomes = vpcgate_tests::all_cases_pass(&s);
    // The internet sees the NAT instance's Elastic IP, the route hop names the path.
    let (model, _) = vpcgate_tests::world(&s);
    let eip = model.ec2.eips[0].public_ip;
    let nat = &model
        .ec2
        .instances
        .iter()
        .find(|i| i.logical_id == "NatInstance")
        .unwrap()
        .id;
    let trace = outcomes[0].trace.render();
    assert!(
        trace.contains(&format!("accepted a connection from {eip}:")),
        "{trace}"
    );
    assert!(
        trace.contains(&format!("-> {nat} (NAT instance in "))
            && trace.contains(&format!(", as {eip}) -> rtb-")),
        "{trace}"
    );
}

#[test]
fn with_the_source_destination_check_left_on_the_instance_drops_the_traffic() {
    let s = experiment(
        dropped("has source/destination checking on (SourceDestCheck)"),
        |doc| {
            properties(doc, "NatInstance")
                .as_object_mut()
                .unwrap()
                .remove("SourceDestCheck");
        },
    );
    vpcgate_tests::all_cases_pass(&s);
}

#[test]
fn a_nat_instance_group_not_admitting_the_port_drops_the_traffic() {
    let s = experiment(dropped("(NAT instance): no ingress rule of [sg-"), |doc| {
        properties(doc, "NatGroup")["SecurityGroupIngress"][0]["FromPort"] = json!(80);
        properties(doc, "NatGroup")["SecurityGroupIngress"][0]["ToPort"] = json!(80);
    });
    vpcgate_tests::all_cases_pass(&s);
}

#[test]
fn a_nat_instance_whose_subnet_has_no_internet_route_drops_the_traffic() {
    let s = experiment(dropped("(NAT instance) stands in subnet-"), |doc| {
        doc["Resources"]
            .as_object_mut()
            .unwrap()
            .remove("PublicDefaultRoute");
    });
    let outcomes = vpcgate_tests::all_cases_pass(&s);
    let trace = outcomes[0].trace.render();
    assert!(trace.contains("has no route to 198.51.100.13"), "{trace}");
}

#[test]
fn a_route_to_the_nat_instances_second_interface_forwards_through_it() {
    // The classic two-interface NAT instance: a standalone `AWS::EC2::NetworkInterface` with its
    // own group and `SourceDestCheck: false` at `DeviceIndex` 1 receives the private subnet's
    // traffic; the packet leaves through the primary interface's subnet and Elastic IP.
    let s = experiment(
        json!({
            "OutputIncludes": {"StatusCode": 200},
            "TraceContains": [
                "0.0.0.0/0 -> eni-",
                "(NAT instance) allows tcp/443 from 10.0.2.",
                "accepted a connection from 203.0.113."
            ]
        }),
        |doc| {
            let resources = doc["Resources"].as_object_mut().unwrap();
            resources.insert(
                "NatInside".into(),
                json!({"Type": "AWS::EC2::NetworkInterface", "Properties": {
                    "SubnetId": {"Ref": "PublicSubnet"},
                    "GroupSet": [{"Ref": "NatInsideGroup"}],
                    "SourceDestCheck": false}}),
            );
            resources.insert(
                "NatInsideGroup".into(),
                json!({"Type": "AWS::EC2::SecurityGroup", "Properties": {
                    "GroupDescription": "NAT instance, inside interface",
                    "VpcId": {"Ref": "Vpc"},
                    "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443,
                                              "ToPort": 443, "CidrIp": "10.0.2.0/24"}]}}),
            );
            // The primary interface's group admits nothing: the inside interface's decides.
            let nat = properties(doc, "NatInstance");
            nat["NetworkInterfaces"] =
                json!([{"DeviceIndex": "1", "NetworkInterfaceId": {"Ref": "NatInside"}}]);
            nat["SourceDestCheck"] = json!(true);
            properties(doc, "NatGroup")
                .as_object_mut()
                .unwrap()
                .remove("SecurityGroupIngress");
            let route = properties(doc, "PrivateDefaultRoute")
                .as_object_mut()
                .unwrap();
            route.remove("InstanceId");
            route.insert("NetworkInterfaceId".into(), json!({"Ref": "NatInside"}));
        },
    );
    let outcomes = vpcgate_tests::all_cases_pass(&s);
    let (model, _) = vpcgate_tests::world(&s);
    let eni = &model
        .ec2
        .network_interfaces
        .iter()
        .find(|n| n.logical_id == "NatInside")
        .unwrap()
        .id;
    let trace = outcomes[0].trace.render();
    assert!(
        trace.contains(&format!("ingress of {eni} of i-")),
        "{trace}"
    );

    // The same interface with its check on drops what is not its own.
    let s = experiment(
        dropped("has source/destination checking on (SourceDestCheck)"),
        |doc| {
            doc["Resources"]["NatInside"] = json!({"Type": "AWS::EC2::NetworkInterface",
                "Properties": {"SubnetId": {"Ref": "PublicSubnet"}}});
            properties(doc, "NatInstance")["NetworkInterfaces"] =
                json!([{"DeviceIndex": "1", "NetworkInterfaceId": {"Ref": "NatInside"}}]);
            let route = properties(doc, "PrivateDefaultRoute")
                .as_object_mut()
                .unwrap();
            route.remove("InstanceId");
            route.insert("NetworkInterfaceId".into(), json!({"Ref": "NatInside"}));
        },
    );
    vpcgate_tests::all_cases_pass(&s);
}

/// A route to an instance or a network interface that does not exist is refused as CreateRoute
/// refuses it (`InvalidInstanceID.NotFound`, `InvalidNetworkInterfaceID.NotFound`: EC2's API
/// error codes page), where the world used to accept it and drop the traffic as a blackhole.
#[test]
fn a_route_to_an_instance_or_interface_that_does_not_exist_is_refused() {
    for (key, id, message) in [
        (
            "InstanceId",
            "i-0123456789abcdef0",
            "Resources.PrivateDefaultRoute.Properties.InstanceId: The instance ID 'i-0123456789abcdef0' does not exist",
        ),
        (
            "NetworkInterfaceId",
            "eni-0123456789abcdef0",
            "Resources.PrivateDefaultRoute.Properties.NetworkInterfaceId: The networkInterface ID 'eni-0123456789abcdef0' does not exist",
        ),
    ] {
        let s = experiment(json!({"OutputIncludes": {"Error": "TIMEOUT"}}), |doc| {
            let route = properties(doc, "PrivateDefaultRoute")
                .as_object_mut()
                .unwrap();
            route.remove("InstanceId");
            route.insert(key.into(), json!(id));
        });
        let e = s.build(&Default::default()).unwrap_err().to_string();
        assert!(e.contains(message), "{e}");
    }
}
