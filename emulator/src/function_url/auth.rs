//! Who is calling and whether they may: the caller behind a verified signature (CloudFront's OAC role,
//! an IAM user of the topology, or anonymous for `AuthType NONE`), and the evaluation of identity and
//! resource-based policy for **both** `lambda:InvokeFunctionUrl` and `lambda:InvokeFunction` — principal,
//! `ArnLike AWS:SourceArn`, `lambda:FunctionUrlAuthType`, `lambda:InvokedViaFunctionUrl`.

use sha2::{Digest, Sha256};

use super::errors::UrlError;
use super::{Context, UrlRefusal};
use crate::pattern::wildcard_match;
use crate::refusal::Refusal;
use crate::sigv4::Identity;
use crate::topology::{IamUser, PolicyStatement, Topology};
use crate::trace::{Hop, Line};

/// The AWS account that owns CloudFront's Origin Access Control role (AWS-owned, not the topology's):
/// the account in real OAC-signed event fixtures (us-east-1, January 2025; reference aws-edge.md
/// §3.3). UNSURE whether every region and partition signs from this one account: the second capture
/// the reference cites (ap-northeast-2) is redacted. A capture from another region would settle it.
pub const OAC_ACCOUNT: &str = "856369053181";
/// The OAC role's unique id in the same capture (`callerId`/`userId` are `<role id>:OriginAccessSession`).
pub const OAC_ROLE_ID: &str = "AROA4OY4SXX6VEIZRJRCJ";
/// The OAC role's temporary access key id: the capture's account prefix (`ASIA4OY4SXX6`; an access key
/// id encodes its account) with an emulator-owned suffix, since a real session key rotates.
pub const OAC_ACCESS_KEY_ID: &str = "ASIA4OY4SXX6EMULATED";
const OAC_SECRET: &str = "cloudfrontOriginAccessControlRoleSecret0001";
const OAC_SESSION_TOKEN: &str =
    "IQoJb3JpZ2luX2VjEOriginAccessSessionTokenForTheEmulatedCloudFrontEdge";

/// The credentials CloudFront signs origin requests with (the edge uses them).
pub fn oac_identity() -> Identity {
    Identity {
        access_key_id: OAC_ACCESS_KEY_ID.into(),
        secret_access_key: OAC_SECRET.into(),
        session_token: Some(OAC_SESSION_TOKEN.into()),
    }
}

/// A caller after authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// `AuthType NONE`.
    Anonymous,
    /// CloudFront signing with OAC; the source headers say which distribution.
    CloudFront {
        /// `x-amz-source-arn`.
        source_arn: Option<String>,
        /// `x-amz-source-account`.
        source_account: Option<String>,
    },
    /// One of the topology's IAM users.
    User {
        /// User name.
        name: String,
        /// Its access key.
        access_key_id: String,
        /// Whether its identity policy allows invoking.
        allows_invoke: bool,
    },
}

impl Caller {
    /// Who it is, for traces.
    pub fn describe(&self) -> String {
        match self {
            Self::Anonymous => "an anonymous caller".into(),
            Self::CloudFront { source_arn, .. } => format!(
                "CloudFront OAC (SourceArn {})",
                source_arn.as_deref().unwrap_or("none")
            ),
            Self::User { name, .. } => format!("IAM user {name}"),
        }
    }
}

/// The `AIDA…` id AWS would show for a user (stable per name).
pub fn user_id(name: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let tail: String = digest
        .iter()
        .take(17)
        .map(|b| alphabet[(*b as usize) % alphabet.len()] as char)
        .collect();
    format!("AIDA{tail}")
}

/// The credentials of every caller the URL knows.
pub fn lookup(topology: &Topology, access_key_id: &str) -> Option<Identity> {
    if access_key_id == OAC_ACCESS_KEY_ID {
        return Some(oac_identity());
    }
    topology
        .iam_users
        .iter()
        .find(|u| u.access_key_id == access_key_id)
        .map(|u| Identity {
            access_key_id: u.access_key_id.clone(),
            secret_access_key: u.secret_access_key.clone(),
            session_token: None,
        })
}

/// The caller a verified access key stands for.
pub fn caller(topology: &Topology, access_key_id: &str, headers: &[(String, String)]) -> Caller {
    // Every value of the header, joined as the signature covered them: a second x-amz-source-arn
    // makes the value match no grant, instead of the first one being believed.
    let header = |name: &str| {
        let values: Vec<&str> = headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    };
    if access_key_id == OAC_ACCESS_KEY_ID {
        return Caller::CloudFront {
            source_arn: header("x-amz-source-arn"),
            source_account: header("x-amz-source-account"),
        };
    }
    let user: Option<&IamUser> = topology
        .iam_users
        .iter()
        .find(|u| u.access_key_id == access_key_id);
    match user {
        Some(user) => Caller::User {
            name: user.name.clone(),
            access_key_id: user.access_key_id.clone(),
            allows_invoke: user.allows_invoke,
        },
        None => Caller::Anonymous,
    }
}

/// `ArnLike`: `*` matches any run of characters, `?` one.
pub fn arn_like(pattern: &str, value: &str) -> bool {
    wildcard_match(pattern, value)
}

fn principal_matches(statement: &PolicyStatement, caller: &Caller, topology: &Topology) -> bool {
    let principal = statement.principal.as_str();
    if principal == "*" {
        return true;
    }
    match caller {
        Caller::CloudFront { .. } => principal == "cloudfront.amazonaws.com",
        Caller::User { name, .. } => {
            let account = &topology.account_id;
            principal == account
                || principal == format!("arn:aws:iam::{account}:root")
                || principal == format!("arn:aws:iam::{account}:user/{name}")
        }
        Caller::Anonymous => false,
    }
}

fn statement_allows(
    statement: &PolicyStatement,
    caller: &Caller,
    action: &str,
    topology: &Topology,
) -> bool {
    if statement.action != action && statement.action != "lambda:*" {
        return false;
    }
    if !principal_matches(statement, caller, topology) {
        return false;
    }
    if let Some(pattern) = &statement.source_arn {
        let source = match caller {
            Caller::CloudFront { source_arn, .. } => source_arn.as_deref(),
            _ => None,
        };
        if !source.is_some_and(|arn| arn_like(pattern, arn)) {
            return false;
        }
    }
    if let Some(auth_type) = &statement.function_url_auth_type {
        if action != "lambda:InvokeFunctionUrl" || *auth_type != topology.function_url.auth_type {
            return false;
        }
    }
    // `lambda:InvokedViaFunctionUrl` holds for every request through the URL.
    statement.invoked_via_function_url != Some(false)
}

/// Allows the call when, for both invoke actions, the caller's identity policy or a resource-policy
/// statement allows it. The error says which action is missing and why, for the trace.
pub fn evaluate(topology: &Topology, caller: &Caller) -> Result<(), String> {
    for action in ["lambda:InvokeFunctionUrl", "lambda:InvokeFunction"] {
        let by_identity = matches!(
            caller,
            Caller::User {
                allows_invoke: true,
                ..
            }
        );
        let by_resource = topology
            .resource_policy
            .iter()
            .any(|s| statement_allows(s, caller, action, topology));
        if !by_identity && !by_resource {
            let who = match caller {
                Caller::CloudFront { source_arn, .. } => format!(
                    "cloudfront.amazonaws.com (SourceArn {})",
                    source_arn.as_deref().unwrap_or("none")
                ),
                other => other.describe(),
            };
            return Err(format!(
                "no identity or resource-based policy statement allows {action} on {} for {who}",
                topology.function_arn()
            ));
        }
    }
    Ok(())
}

/// Step 4 of the Function URL: both invoke actions must be allowed (403 AccessDenied otherwise).
pub fn authorize(ctx: &Context<'_>, caller: &Caller) -> Result<(), UrlRefusal> {
    evaluate(&ctx.config.topology, caller).map_err(|why| {
        Refusal::new(
            UrlError::AccessDenied(why.clone()),
            Hop::Policy,
            "resource-based policy",
            why,
        )
        .hint("grant both lambda:InvokeFunctionUrl and lambda:InvokeFunction to cloudfront.amazonaws.com with AWS:SourceArn = this distribution's ARN (or give the IAM user an identity policy)")
    })?;
    ctx.trace.record(Line::pass(
        Hop::Policy,
        "resource-based policy",
        format!("{} may invoke (both actions)", caller.describe()),
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloudfront(arn: &str) -> Caller {
        Caller::CloudFront {
            source_arn: Some(arn.into()),
            source_account: Some("123456789012".into()),
        }
    }

    #[test]
    fn the_default_grants_this_distribution_only() {
        let t = Topology::default();
        assert_eq!(evaluate(&t, &cloudfront(&t.distribution_arn())), Ok(()));
        let other = evaluate(
            &t,
            &cloudfront("arn:aws:cloudfront::123456789012:distribution/EOTHER"),
        );
        assert!(other.unwrap_err().contains("lambda:InvokeFunctionUrl"));
        assert!(evaluate(&t, &Caller::Anonymous).is_err());
    }

    #[test]
    fn both_actions_are_needed() {
        let mut t = Topology::default();
        t.resource_policy
            .retain(|s| s.action == "lambda:InvokeFunctionUrl");
        let error = evaluate(&t, &cloudfront(&t.distribution_arn())).unwrap_err();
        assert!(error.contains("lambda:InvokeFunction on"), "{error}");
    }

    #[test]
    fn users_need_an_identity_grant_or_a_statement() {
        let mut t = Topology::default();
        let admin = caller(&t, "AKIACHATBOTLOCALADMN", &[]);
        let nobody = caller(&t, "AKIACHATBOTLOCALNOBD", &[]);
        assert_eq!(evaluate(&t, &admin), Ok(()));
        assert!(evaluate(&t, &nobody).is_err());
        for action in ["lambda:InvokeFunctionUrl", "lambda:InvokeFunction"] {
            t.resource_policy.push(PolicyStatement {
                sid: "nobody".into(),
                principal: "arn:aws:iam::123456789012:user/local-nobody".into(),
                action: action.into(),
                source_arn: None,
                function_url_auth_type: None,
                invoked_via_function_url: None,
            });
        }
        assert_eq!(evaluate(&t, &nobody), Ok(()));
    }

    #[test]
    fn arn_like_wildcards() {
        assert!(arn_like(
            "arn:aws:cloudfront::123:distribution/*",
            "arn:aws:cloudfront::123:distribution/E1"
        ));
        assert!(!arn_like(
            "arn:aws:cloudfront::123:distribution/E1",
            "arn:aws:cloudfront::123:distribution/E2"
        ));
        assert!(arn_like(
            "arn:aws:cloudfront::12?:distribution/E1",
            "arn:aws:cloudfront::123:distribution/E1"
        ));
    }

    #[test]
    fn user_ids_look_like_aws() {
        let id = user_id("local-admin");
        assert_eq!(id.len(), 21);
        assert!(id.starts_with("AIDA"));
        assert_eq!(id, user_id("local-admin"));
    }
}
