//! [`wire`]: the one place a [`SigV4Error`] becomes the status and error code a protocol sends.
//!
//! The message is [`SigV4Error::message`] in every protocol (AWS's front end words a signature
//! failure the same way whatever the service); what differs by protocol is the HTTP status and
//! the name of two errors — an access key AWS does not know, and (for API Gateway's data plane)
//! the code [`SigV4Error::error_type`] gives. Each row below names its source.

use super::SigV4Error;

/// The wire protocols vpcgate answers SigV4 failures in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// API Gateway's data plane (`execute-api`): REST APIs and HTTP APIs.
    ExecuteApi,
    /// A REST-JSON control plane (`apigateway`, `/restapis`, `/v2/apis`).
    RestJson,
    /// `awsJson1_0` and `awsJson1_1` (Step Functions, EventBridge, Secrets Manager).
    Json,
    /// `awsQuery` (CloudFormation).
    Query,
    /// VPC Lattice's data plane (`vpc-lattice-svcs`, a plain-text body).
    Lattice,
}

/// A SigV4 failure as one protocol puts it on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigV4Wire {
    /// The HTTP status.
    pub status: http::StatusCode,
    /// The error code (`x-amzn-ErrorType`, `__type`, `<Code>`, or the plain text's prefix).
    pub code: &'static str,
    /// The message ([`SigV4Error::message`]).
    pub message: String,
}

impl SigV4Wire {
    /// The REST-JSON body, `{"message": …}`.
    pub fn json_body(&self) -> String {
        serde_json::json!({ "message": self.message }).to_string()
    }
}

/// The one mapping from a [`SigV4Error`] to `protocol`'s wire error.
pub fn wire(error: &SigV4Error, protocol: Protocol) -> SigV4Wire {
    use Protocol as P;
    use http::StatusCode as S;
    let unknown_key = matches!(error, SigV4Error::UnknownAccessKey { .. });
    let (status, code) = match protocol {
        // 403 for every failure, the codes of SigV4Error::error_type (each with its source
        // there: the API Gateway 403 knowledge-center article, chalice#828, ex_aws#701, …).
        P::ExecuteApi => (S::FORBIDDEN, error.error_type()),
        // apigateway's control plane is REST-JSON: 403, `x-amzn-ErrorType`; an unknown key is
        // UnrecognizedClientException there as in every JSON front end (boto/boto3#3577:
        // "An error occurred (UnrecognizedClientException) when calling the PutIntegration
        // operation: The security token included in the request is invalid."; Lambda's REST-JSON
        // API answers it with status 403, iann0036/iamlive#58).
        P::RestJson if unknown_key => (S::FORBIDDEN, "UnrecognizedClientException"),
        P::RestJson => (S::FORBIDDEN, error.error_type()),
        // The JSON protocols answer 400 with `__type` (Cognito, JSON 1.1:
        // `400 Bad Request` `{"__type":"UnrecognizedClientException","message":"The security
        // token included in the request is invalid."}`, aws/aws-sdk-php#2444; ECS, JSON 1.1:
        // "status code: 400", aws-azure-login/aws-azure-login#37).
        P::Json if unknown_key => (S::BAD_REQUEST, "UnrecognizedClientException"),
        P::Json => (S::BAD_REQUEST, error.error_type()),
        // Query services answer 403 and call an unknown key InvalidClientTokenId (CloudFormation
        // DescribeStacks, Sceptre/sceptre#988; CreateStack through aws-sdk-js's query parser,
        // aws/aws-cdk#1651; IAM with "status code: 403", terraform-aws-modules/terraform-aws-eks#2890).
        P::Query if unknown_key => (S::FORBIDDEN, "InvalidClientTokenId"),
        P::Query => (S::FORBIDDEN, error.error_type()),
        // fidelity: Lattice's texts for signature failures are not documented; vpcgate answers
        // 403 with API Gateway's error types (same SigV4 front end), in Lattice's
        // `<ErrorType>: <message>` text format (lattice::auth).
        P::Lattice => (S::FORBIDDEN, error.error_type()),
    };
    SigV4Wire {
        status,
        code,
        message: error.message(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(e: &SigV4Error, p: Protocol) -> (u16, &'static str) {
        let w = wire(e, p);
        assert_eq!(
            w.message,
            e.message(),
            "the message is the same in every protocol"
        );
        (w.status.as_u16(), w.code)
    }

    #[test]
    fn an_unknown_key_is_named_per_protocol() {
        let e = SigV4Error::UnknownAccessKey {
            access_key_id: "AKIDEXAMPLE".into(),
        };
        assert_eq!(
            pair(&e, Protocol::ExecuteApi),
            (403, "AccessDeniedException")
        );
        assert_eq!(
            pair(&e, Protocol::RestJson),
            (403, "UnrecognizedClientException")
        );
        assert_eq!(
            pair(&e, Protocol::Json),
            (400, "UnrecognizedClientException")
        );
        assert_eq!(pair(&e, Protocol::Query), (403, "InvalidClientTokenId"));
        assert_eq!(pair(&e, Protocol::Lattice), (403, "AccessDeniedException"));
    }

    #[test]
    fn other_failures_keep_their_type_and_take_the_protocols_status() {
        let e = SigV4Error::SignatureMismatch {
            canonical_request: String::new(),
            string_to_sign: String::new(),
        };
        for (p, status) in [
            (Protocol::ExecuteApi, 403),
            (Protocol::RestJson, 403),
            (Protocol::Json, 400),
            (Protocol::Query, 403),
            (Protocol::Lattice, 403),
        ] {
            assert_eq!(pair(&e, p), (status, "InvalidSignatureException"));
        }
        let w = wire(
            &SigV4Error::MissingAuthenticationToken,
            Protocol::ExecuteApi,
        );
        assert_eq!(
            w.json_body(),
            r#"{"message":"Missing Authentication Token"}"#
        );
    }
}
