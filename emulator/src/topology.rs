//! The deployment being emulated: the CloudFront distribution (behaviors, OAC, origin timeouts), the
//! Function URL (auth type, invoke mode, CORS), the function (name, memory, timeout, reserved
//! concurrency, environment, role credentials), its resource-policy statements, and the IAM users that
//! may call the URL directly. The embedded default is what `infrastructure/chatbot` deploys; a TOML file
//! overrides any part of it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Why a topology cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid topology.
    #[error("invalid topology {path}: {source}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        source: toml::de::Error,
    },
    /// A value breaks an AWS rule.
    #[error("{0}")]
    Invalid(String),
}

/// The whole chain's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Topology {
    /// The AWS account everything lives in.
    pub account_id: String,
    /// The function's region.
    pub region: String,
    /// The CloudFront distribution.
    pub distribution: Distribution,
    /// The function URL.
    pub function_url: FunctionUrl,
    /// The function.
    pub function: Function,
    /// The function's resource-based policy.
    pub resource_policy: Vec<PolicyStatement>,
    /// IAM users for direct (signed) calls to the URL.
    pub iam_users: Vec<IamUser>,
    /// SSM parameters the emulated Parameter Store serves.
    pub ssm_parameters: Vec<SsmParameter>,
}

/// One SSM parameter.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsmParameter {
    /// `/chatbot/gemini-api-key`.
    pub name: String,
    /// `String` or `SecureString`.
    #[serde(default = "secure_string")]
    pub parameter_type: String,
    /// The (decrypted) value.
    pub value: String,
}

fn secure_string() -> String {
    "SecureString".into()
}

impl std::fmt::Debug for SsmParameter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsmParameter")
            .field("name", &self.name)
            .field("parameter_type", &self.parameter_type)
            .finish_non_exhaustive()
    }
}

/// A CloudFront distribution with one origin (the function URL).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Distribution {
    /// `E…` id.
    pub id: String,
    /// `d….cloudfront.net`.
    pub domain_name: String,
    /// Behaviors in precedence order; the last one should be the default (`*`).
    pub behaviors: Vec<Behavior>,
    /// The origin access control on the function URL origin.
    pub oac: OriginAccessControl,
    /// Seconds CloudFront waits for a byte from the origin (1–180; AWS default 30; over 60 needs a
    /// quota increase).
    pub origin_read_timeout_s: u64,
    /// Seconds CloudFront keeps an idle origin connection (1–180; AWS default 5).
    pub origin_keepalive_timeout_s: u64,
    /// `CustomErrorResponses`: error statuses CloudFront replaces with a page fetched from the origin.
    /// None in the shipped Terraform; a 403 → 200 mapping hides every auth refusal from the browser.
    pub custom_error_responses: Vec<CustomErrorResponse>,
}

/// One `custom_error_response` of a distribution (CloudFront API reference, `CustomErrorResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomErrorResponse {
    /// The status it applies to: one of [`CACHED_ERROR_CODES`].
    pub error_code: u16,
    /// The status the viewer gets with the page (needs `response_page_path`).
    #[serde(default)]
    pub response_code: Option<u16>,
    /// The page CloudFront fetches from the origin (`/index.html`); without it the origin's error
    /// passes unchanged (only its caching TTL is set, which the uncached chatbot never uses).
    #[serde(default)]
    pub response_page_path: Option<String>,
    /// `error_caching_min_ttl` (seconds): read and kept, not modelled (the edge caches nothing).
    #[serde(default)]
    pub error_caching_min_ttl_s: Option<u64>,
}

/// The 4xx and 5xx statuses CloudFront caches, which are the only ones a custom error response may
/// name ("Custom error pages and error caching", CloudFront developer guide: "none, some, or all of
/// the HTTP status codes that CloudFront caches"; the list is "HTTP 4xx and 5xx status codes that
/// CloudFront caches").
pub const CACHED_ERROR_CODES: [u16; 11] = [400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504];

impl CustomErrorResponse {
    /// Why AWS would refuse it, if it would.
    pub fn problem(&self) -> Option<String> {
        let code = self.error_code;
        if !CACHED_ERROR_CODES.contains(&code) {
            return Some(format!(
                "error_code {code} is not one CloudFront caches, so it cannot have a custom error response (allowed: {CACHED_ERROR_CODES:?})"
            ));
        }
        match (self.response_code, self.response_page_path.as_deref()) {
            (Some(status), Some(path)) => {
                if status != 200 && !CACHED_ERROR_CODES.contains(&status) {
                    return Some(format!(
                        "error_code {code}: response_code {status} is not 200 or one of {CACHED_ERROR_CODES:?}"
                    ));
                }
                if !path.starts_with('/') || path.parse::<axum::http::uri::PathAndQuery>().is_err()
                {
                    return Some(format!(
                        "error_code {code}: response_page_path {path:?} must be a path beginning with /"
                    ));
                }
                None
            }
            (None, None) => None,
            // API reference: "If you specify a value for ResponseCode, you must also specify a
            // value for ResponsePagePath", and the reverse.
            (Some(_), None) | (None, Some(_)) => Some(format!(
                "error_code {code}: response_code and response_page_path go together"
            )),
        }
    }

    /// Whether it turns an error into a success: the browser then never sees the refusal.
    pub fn masks_error(&self) -> bool {
        self.response_page_path.is_some() && self.response_code.is_some_and(|s| s < 400)
    }
}

/// `AuthType` of a function URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthType {
    /// SigV4-signed callers with a grant (what OAC needs).
    #[serde(rename = "AWS_IAM")]
    AwsIam,
    /// Public (only with a public resource-policy grant).
    #[serde(rename = "NONE")]
    None,
}

/// `InvokeMode` of a function URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvokeMode {
    /// The whole response when the function ends (6 MB).
    #[serde(rename = "BUFFERED")]
    Buffered,
    /// The body as the function writes it.
    #[serde(rename = "RESPONSE_STREAM")]
    ResponseStream,
}

/// An OAC's `SigningBehavior`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigningBehavior {
    /// Sign every origin request, replacing a viewer `Authorization`.
    #[serde(rename = "always")]
    Always,
    /// Sign nothing.
    #[serde(rename = "never")]
    Never,
    /// Sign unless the viewer sent `Authorization`, which is then passed on.
    #[serde(rename = "no-override")]
    NoOverride,
}

/// The managed origin request policies the edge models: which viewer headers reach the origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OriginRequestPolicy {
    /// Every viewer header but `Host`, plus CloudFront's viewer headers (what a Lambda URL origin needs).
    #[serde(rename = "Managed-AllViewerExceptHostHeader")]
    AllViewerExceptHostHeader,
    /// Every viewer header, `Host` included (breaks the OAC signature for a Lambda URL origin).
    #[serde(rename = "Managed-AllViewer")]
    AllViewer,
    /// Every viewer header, `Host` included, and CloudFront's viewer headers.
    #[serde(rename = "Managed-AllViewerAndCloudFrontHeaders-2022-06")]
    AllViewerAndCloudFrontHeaders,
    /// `Origin`, `Access-Control-Request-Headers`, `Access-Control-Request-Method`.
    #[serde(rename = "Managed-CORS-S3Origin")]
    CorsS3Origin,
    /// `Origin` only.
    #[serde(rename = "Managed-CORS-CustomOrigin")]
    CorsCustomOrigin,
    /// `User-Agent` and `Referer`.
    #[serde(rename = "Managed-UserAgentRefererHeaders")]
    UserAgentRefererHeaders,
    /// No origin request policy: no viewer header beyond what the cache policy names.
    #[serde(rename = "none")]
    None,
}

impl OriginRequestPolicy {
    /// Every managed policy the edge models, with its id.
    pub const MANAGED: [(Self, &'static str); 6] = [
        (
            Self::AllViewerExceptHostHeader,
            "b689b0a8-53d0-40ab-baf2-68738e2966ac",
        ),
        (Self::AllViewer, "216adef6-5c7f-47e4-b989-5492eafa07d3"),
        (
            Self::AllViewerAndCloudFrontHeaders,
            "33f36d7e-f396-46d9-90e0-52428a34d9dc",
        ),
        (Self::CorsS3Origin, "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf"),
        (
            Self::CorsCustomOrigin,
            "59781a5b-3903-41f3-afcb-af62929ccde1",
        ),
        (
            Self::UserAgentRefererHeaders,
            "acba4595-bd28-49b8-b9fe-13317c0390fa",
        ),
    ];

    /// Its managed name (`Managed-AllViewerExceptHostHeader`).
    pub fn name(self) -> &'static str {
        match self {
            Self::AllViewerExceptHostHeader => "Managed-AllViewerExceptHostHeader",
            Self::AllViewer => "Managed-AllViewer",
            Self::AllViewerAndCloudFrontHeaders => "Managed-AllViewerAndCloudFrontHeaders-2022-06",
            Self::CorsS3Origin => "Managed-CORS-S3Origin",
            Self::CorsCustomOrigin => "Managed-CORS-CustomOrigin",
            Self::UserAgentRefererHeaders => "Managed-UserAgentRefererHeaders",
            Self::None => "none",
        }
    }

    /// The policy with this managed name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::MANAGED
            .iter()
            .map(|(policy, _)| *policy)
            .find(|policy| policy.name() == name)
    }

    /// The policy with this managed id.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::MANAGED
            .iter()
            .find(|(_, managed)| *managed == id)
            .map(|(policy, _)| *policy)
    }

    /// Whether a viewer header of this (lower-case) name reaches the origin.
    pub fn forwards(self, name: &str) -> bool {
        match self {
            Self::AllViewerExceptHostHeader => name != "host",
            Self::AllViewer | Self::AllViewerAndCloudFrontHeaders => true,
            Self::CorsS3Origin => matches!(
                name,
                "origin" | "access-control-request-headers" | "access-control-request-method"
            ),
            Self::CorsCustomOrigin => name == "origin",
            Self::UserAgentRefererHeaders => matches!(name, "user-agent" | "referer"),
            Self::None => false,
        }
    }

    /// Whether CloudFront adds its `cloudfront-*` viewer headers.
    pub fn adds_cloudfront_headers(self) -> bool {
        matches!(
            self,
            Self::AllViewerExceptHostHeader | Self::AllViewerAndCloudFrontHeaders
        )
    }
}

impl std::fmt::Display for OriginRequestPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::fmt::Display for SigningBehavior {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Always => "always",
            Self::Never => "never",
            Self::NoOverride => "no-override",
        })
    }
}

impl std::fmt::Display for AuthType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::AwsIam => "AWS_IAM",
            Self::None => "NONE",
        })
    }
}

impl std::fmt::Display for InvokeMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Buffered => "BUFFERED",
            Self::ResponseStream => "RESPONSE_STREAM",
        })
    }
}

/// A cache behavior.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Behavior {
    /// `*` for the default behavior, else a pattern like `/chatbot`.
    pub path_pattern: String,
    /// The allowed methods (sets of 2, 3 or 7 in CloudFront).
    pub allowed_methods: Vec<String>,
    /// The cached methods.
    pub cached_methods: Vec<String>,
    /// Managed cache policy name (`Managed-CachingDisabled`).
    pub cache_policy: String,
    /// The origin request policy, by its managed name.
    pub origin_request_policy: OriginRequestPolicy,
    /// `redirect-to-https`, `https-only` or `allow-all` (linted, not enforced locally).
    pub viewer_protocol_policy: String,
    /// The response headers policy, if one is attached.
    #[serde(default)]
    pub response_headers_policy: Option<ResponseHeadersPolicy>,
}

/// A CloudFront response headers policy: headers the edge adds to the origin's answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ResponseHeadersPolicy {
    /// CORS headers CloudFront adds (`cors_config`): a second CORS layer when the URL has its own.
    pub cors: Option<EdgeCors>,
    /// Security headers (`security_headers_config`), by lower-case name; CloudFront sets each,
    /// replacing the origin's.
    pub security_headers: BTreeMap<String, String>,
}

/// A response headers policy's `cors_config`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct EdgeCors {
    /// `access_control_allow_origins`.
    pub allow_origins: Vec<String>,
    /// `access_control_allow_headers`.
    pub allow_headers: Vec<String>,
    /// `access_control_allow_methods`.
    pub allow_methods: Vec<String>,
    /// `access_control_expose_headers`.
    pub expose_headers: Vec<String>,
    /// `access_control_allow_credentials`.
    pub allow_credentials: bool,
    /// `access_control_max_age_sec`.
    pub max_age: u64,
    /// `origin_override`: replace the origin's CORS headers (else keep them when present).
    pub origin_override: bool,
}

/// The OAC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OriginAccessControl {
    /// `lambda`.
    pub origin_type: String,
    /// `always`, `never` or `no-override`.
    pub signing_behavior: SigningBehavior,
    /// `sigv4`.
    pub signing_protocol: String,
}

/// The function URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FunctionUrl {
    /// The 32-character id in `<url-id>.lambda-url.<region>.on.aws`.
    pub url_id: String,
    /// `AWS_IAM` or `NONE`.
    pub auth_type: AuthType,
    /// `BUFFERED` or `RESPONSE_STREAM`.
    pub invoke_mode: InvokeMode,
    /// CORS, answered by the URL itself.
    pub cors: Option<Cors>,
}

/// Function URL CORS settings (API_Cors).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Cors {
    /// `AllowCredentials`.
    pub allow_credentials: bool,
    /// `AllowHeaders`.
    pub allow_headers: Vec<String>,
    /// `AllowMethods`.
    pub allow_methods: Vec<String>,
    /// `AllowOrigins`.
    pub allow_origins: Vec<String>,
    /// `ExposeHeaders`.
    pub expose_headers: Vec<String>,
    /// `MaxAge` seconds.
    pub max_age: u64,
}

/// The function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Function {
    /// The function name.
    pub name: String,
    /// MB of memory.
    pub memory_mb: u32,
    /// Seconds before an invocation is stopped (1–900).
    pub timeout_s: u64,
    /// How many invocations may run at once (0 = unreserved: the emulator allows 1000).
    pub reserved_concurrency: u32,
    /// The configured environment variables.
    pub env: BTreeMap<String, String>,
    /// The execution role and the temporary credentials Lambda gives the function.
    pub role: Role,
}

/// The execution role.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// `arn:aws:iam::…:role/…`.
    pub arn: String,
    /// `AWS_ACCESS_KEY_ID` (`ASIA…`).
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: String,
    /// `AWS_SESSION_TOKEN`.
    pub session_token: String,
    /// Parameter names the role may `ssm:GetParameter` (its identity policy).
    #[serde(default)]
    pub ssm_get_parameter: Vec<String>,
}

impl std::fmt::Debug for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Role")
            .field("arn", &self.arn)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// One statement of the function's resource-based policy (Allow only, as `add-permission` makes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyStatement {
    /// `Sid`.
    pub sid: String,
    /// A service (`cloudfront.amazonaws.com`), an account or ARN, or `*`.
    pub principal: String,
    /// `lambda:InvokeFunctionUrl` or `lambda:InvokeFunction`.
    pub action: String,
    /// `ArnLike AWS:SourceArn` condition.
    pub source_arn: Option<String>,
    /// `lambda:FunctionUrlAuthType` condition.
    pub function_url_auth_type: Option<AuthType>,
    /// `lambda:InvokedViaFunctionUrl` condition.
    pub invoked_via_function_url: Option<bool>,
}

/// An IAM user with access keys, for signed direct calls.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IamUser {
    /// User name.
    pub name: String,
    /// Access key id (`AKIA…`).
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Whether the user's identity policy allows both invoke actions on the function (like a
    /// same-account administrator).
    pub allows_invoke: bool,
}

impl std::fmt::Debug for IamUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IamUser")
            .field("name", &self.name)
            .field("access_key_id", &self.access_key_id)
            .field("allows_invoke", &self.allows_invoke)
            .finish_non_exhaustive()
    }
}

const ALL_METHODS: [&str; 7] = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"];

/// Whether `methods` is one of the three sets CloudFront's `AllowedMethods` accepts
/// (`reference/aws-edge.md` §5.4): GET+HEAD, GET+HEAD+OPTIONS, or all seven.
pub fn allowed_method_set(methods: &[String]) -> bool {
    let mut set: Vec<String> = methods.iter().map(|m| m.to_ascii_uppercase()).collect();
    set.sort();
    set.dedup();
    let set: Vec<&str> = set.iter().map(String::as_str).collect();
    set == ["GET", "HEAD"] || set == ["GET", "HEAD", "OPTIONS"] || set == ALL_METHODS
}

/// Whether `origin` is a browser origin: `http(s)://host[:port]`, no path, query, fragment or wildcard.
pub fn valid_origin(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || rest.starts_with('[') => (host, Some(port)),
        _ => (rest, None),
    };
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'))
        && port
            .is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit()))
}

impl Default for Distribution {
    fn default() -> Self {
        Self {
            id: "E2CHATBOTLOCAL1".into(),
            domain_name: "d1chatbotlocal.cloudfront.net".into(),
            behaviors: vec![Behavior {
                path_pattern: "*".into(),
                allowed_methods: ALL_METHODS.iter().map(|m| (*m).to_owned()).collect(),
                cached_methods: vec!["GET".into(), "HEAD".into()],
                cache_policy: "Managed-CachingDisabled".into(),
                origin_request_policy: OriginRequestPolicy::AllViewerExceptHostHeader,
                viewer_protocol_policy: "redirect-to-https".into(),
                response_headers_policy: Some(ResponseHeadersPolicy {
                    cors: None,
                    security_headers: SECURITY_HEADERS
                        .iter()
                        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                        .collect(),
                }),
            }],
            oac: OriginAccessControl {
                origin_type: "lambda".into(),
                signing_behavior: SigningBehavior::Always,
                signing_protocol: "sigv4".into(),
            },
            origin_read_timeout_s: 30,
            origin_keepalive_timeout_s: 5,
            custom_error_responses: Vec::new(),
        }
    }
}

/// The security headers `infrastructure/chatbot`'s response headers policy sets.
pub const SECURITY_HEADERS: [(&str, &str); 4] = [
    (
        "strict-transport-security",
        "max-age=31536000; includeSubDomains; preload",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
];

/// The origins of the site's own Vite dev server, which the embedded default allows.
pub const DEV_ORIGINS: [&str; 2] = ["http://localhost:5173", "http://127.0.0.1:5173"];

/// The request headers the browser client sends, which CORS must allow.
pub const CLIENT_HEADERS: [&str; 3] = [
    "content-type",
    "x-amz-content-sha256",
    "x-chatbot-authorization",
];

impl Cors {
    /// What `infrastructure/chatbot` configures, for these origins: POST and the client's headers.
    pub fn for_origins(origins: impl IntoIterator<Item = String>) -> Self {
        Self {
            allow_credentials: false,
            allow_headers: CLIENT_HEADERS.iter().map(|h| (*h).to_owned()).collect(),
            allow_methods: vec!["POST".into()],
            allow_origins: origins.into_iter().collect(),
            expose_headers: Vec::new(),
            max_age: 7200,
        }
    }
}

impl Default for FunctionUrl {
    fn default() -> Self {
        Self {
            url_id: "chatbotlocalurl0000000000000001a".into(),
            auth_type: AuthType::AwsIam,
            invoke_mode: InvokeMode::ResponseStream,
            cors: Some(Cors::for_origins(DEV_ORIGINS.map(str::to_owned))),
        }
    }
}

impl Default for Function {
    fn default() -> Self {
        let env = [
            ("COGNITO_USER_POOL_ID", "us-east-1_LocalPool1"),
            ("COGNITO_CLIENT_ID", "chatbotlocalclient00000001"),
            ("COGNITO_REGION", "us-east-1"),
            ("GEMINI_API_KEY_PARAMETER", "/chatbot/gemini-api-key"),
            ("GEMINI_MODEL", "gemini-2.5-flash"),
        ];
        Self {
            name: "chatbot-query".into(),
            memory_mb: 256,
            timeout_s: 60,
            reserved_concurrency: 10,
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            role: Role {
                arn: "arn:aws:iam::123456789012:role/chatbot-query-execution".into(),
                access_key_id: "ASIACHATBOTLOCALROLE".into(),
                secret_access_key: "chatbotLocalRoleSecretKey0000000000000000".into(),
                session_token:
                    "IQoJb3JpZ2luX2VjELocalChatbotSessionTokenForTheEmulatedExecutionRole".into(),
                ssm_get_parameter: vec!["/chatbot/gemini-api-key".into()],
            },
        }
    }
}

impl Default for Topology {
    fn default() -> Self {
        let mut topology = Self {
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            distribution: Distribution::default(),
            function_url: FunctionUrl::default(),
            function: Function::default(),
            resource_policy: Vec::new(),
            iam_users: vec![
                IamUser {
                    name: "local-admin".into(),
                    access_key_id: "AKIACHATBOTLOCALADMN".into(),
                    secret_access_key: "localAdminSecretKey000000000000000000000".into(),
                    allows_invoke: true,
                },
                IamUser {
                    name: "local-nobody".into(),
                    access_key_id: "AKIACHATBOTLOCALNOBD".into(),
                    secret_access_key: "localNobodySecretKey00000000000000000000".into(),
                    allows_invoke: false,
                },
            ],
            ssm_parameters: vec![SsmParameter {
                name: "/chatbot/gemini-api-key".into(),
                parameter_type: "SecureString".into(),
                value: "fake-gemini-key".into(),
            }],
        };
        let source_arn = topology.distribution_arn();
        topology.resource_policy = vec![
            PolicyStatement {
                sid: "AllowCloudFrontInvokeFunctionUrl".into(),
                principal: "cloudfront.amazonaws.com".into(),
                action: "lambda:InvokeFunctionUrl".into(),
                source_arn: Some(source_arn.clone()),
                function_url_auth_type: Some(AuthType::AwsIam),
                invoked_via_function_url: None,
            },
            PolicyStatement {
                sid: "AllowCloudFrontInvokeFunction".into(),
                principal: "cloudfront.amazonaws.com".into(),
                action: "lambda:InvokeFunction".into(),
                source_arn: Some(source_arn),
                function_url_auth_type: None,
                invoked_via_function_url: Some(true),
            },
        ];
        topology
    }
}

impl Topology {
    /// Reads a TOML file; anything it leaves out keeps the embedded default.
    pub fn from_toml_file(path: &Path) -> Result<Self, TopologyError> {
        let text = std::fs::read_to_string(path).map_err(|source| TopologyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let topology: Self = toml::from_str(&text).map_err(|source| TopologyError::Parse {
            path: path.display().to_string(),
            source,
        })?;
        topology.validate()?;
        Ok(topology)
    }

    /// Checks the ranges and enumerations AWS enforces.
    pub fn validate(&self) -> Result<(), TopologyError> {
        let invalid = |m: String| Err(TopologyError::Invalid(m));
        for behavior in &self.distribution.behaviors {
            if !allowed_method_set(&behavior.allowed_methods) {
                return invalid(format!(
                    "behavior {:?}: allowed_methods {:?} is not one of CloudFront's three sets: [GET, HEAD], [GET, HEAD, OPTIONS], or all 7 (GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE)",
                    behavior.path_pattern, behavior.allowed_methods
                ));
            }
        }
        let mut mapped = std::collections::BTreeSet::new();
        for custom in &self.distribution.custom_error_responses {
            if let Some(problem) = custom.problem() {
                return invalid(format!("distribution.custom_error_responses: {problem}"));
            }
            if !mapped.insert(custom.error_code) {
                return invalid(format!(
                    "distribution.custom_error_responses: error_code {} is given twice",
                    custom.error_code
                ));
            }
        }
        if let Some(cors) = &self.function_url.cors {
            if let Some(bad) = cors
                .allow_origins
                .iter()
                .find(|o| *o != "*" && !valid_origin(o))
            {
                return invalid(format!(
                    "function_url.cors.allow_origins: {bad:?} is not scheme://host[:port] (no path, no trailing slash)"
                ));
            }
            let methods = ["GET", "PUT", "HEAD", "POST", "PATCH", "DELETE", "*"];
            if let Some(bad) = cors
                .allow_methods
                .iter()
                .find(|m| !methods.contains(&m.as_str()))
            {
                return invalid(format!(
                    "function_url.cors.allow_methods: {bad:?} is not one of {methods:?} (OPTIONS is answered by the URL itself)"
                ));
            }
            if cors.max_age > 86_400 {
                return invalid(format!(
                    "function_url.cors.max_age {} must be 0..=86400",
                    cors.max_age
                ));
            }
        }
        if self.account_id.len() != 12 || !self.account_id.chars().all(|c| c.is_ascii_digit()) {
            return invalid(format!(
                "account_id {:?} must be 12 digits",
                self.account_id
            ));
        }
        if !(1..=900).contains(&self.function.timeout_s) {
            return invalid(format!(
                "function.timeout_s {} must be 1..=900",
                self.function.timeout_s
            ));
        }
        if !(128..=10_240).contains(&self.function.memory_mb) {
            return invalid(format!(
                "function.memory_mb {} must be 128..=10240",
                self.function.memory_mb
            ));
        }
        for (name, value) in [
            (
                "origin_read_timeout_s",
                self.distribution.origin_read_timeout_s,
            ),
            (
                "origin_keepalive_timeout_s",
                self.distribution.origin_keepalive_timeout_s,
            ),
        ] {
            // UNSURE: the CloudFront API reference gives 1–120 s for an S3 origin's read timeout; for a
            // custom origin (a Function URL is one) the developer guide's standard maximum is 60 s, and
            // up to 180 s after a quota increase (re:Post "cloudfront-custom-origin-response";
            // aws-cdk#18697/#18837 raised their validators to 180). The emulator cannot know an
            // account's quota, so it accepts the hard limit, 180; a read of the quota would settle it.
            if !(1..=MAX_ORIGIN_TIMEOUT_S).contains(&value) {
                return invalid(format!(
                    "distribution.{name} {value} must be 1..={MAX_ORIGIN_TIMEOUT_S}"
                ));
            }
        }
        Ok(())
    }

    /// `arn:aws:lambda:{region}:{account}:function:{name}`.
    pub fn function_arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:{}",
            self.region, self.account_id, self.function.name
        )
    }

    /// `arn:aws:cloudfront::{account}:distribution/{id}`.
    pub fn distribution_arn(&self) -> String {
        format!(
            "arn:aws:cloudfront::{}:distribution/{}",
            self.account_id, self.distribution.id
        )
    }

    /// `<url-id>.lambda-url.<region>.on.aws`.
    pub fn function_url_host(&self) -> String {
        format!(
            "{}.lambda-url.{}.on.aws",
            self.function_url.url_id, self.region
        )
    }

    /// Adds an origin to the function URL's CORS (configuring CORS as the Terraform does when there
    /// is none).
    pub fn allow_origin(&mut self, origin: &str) {
        let cors = self
            .function_url
            .cors
            .get_or_insert_with(|| Cors::for_origins(Vec::new()));
        if !cors.allow_origins.iter().any(|o| o == origin) {
            cors.allow_origins.push(origin.to_owned());
        }
    }

    /// How many invocations may run at once.
    pub fn concurrency_limit(&self) -> usize {
        match self.function.reserved_concurrency {
            0 => 1000,
            n => n as usize,
        }
    }
}

/// The largest origin read / keep-alive timeout CloudFront allows (with a quota increase).
pub const MAX_ORIGIN_TIMEOUT_S: u64 = 180;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_timeouts_go_up_to_the_quota_increased_180_seconds() {
        let mut t = Topology::default();
        t.distribution.origin_read_timeout_s = 180;
        t.validate()
            .expect("180 s is allowed after a quota increase");
        t.distribution.origin_read_timeout_s = 181;
        let error = t.validate().expect_err("over the hard limit");
        assert!(error.to_string().contains("1..=180"), "{error}");
        t.distribution.origin_read_timeout_s = 0;
        assert!(t.validate().is_err());
    }

    #[test]
    fn the_default_is_the_chain_infrastructure_deploys() {
        let t = Topology::default();
        t.validate().unwrap();
        assert_eq!(
            t.function_arn(),
            "arn:aws:lambda:us-east-1:123456789012:function:chatbot-query"
        );
        assert_eq!(
            t.distribution_arn(),
            "arn:aws:cloudfront::123456789012:distribution/E2CHATBOTLOCAL1"
        );
        assert_eq!(t.function_url.url_id.len(), 32);
        assert_eq!(t.distribution.behaviors[0].allowed_methods.len(), 7);
        assert_eq!(t.resource_policy.len(), 2);
        assert_eq!(t.concurrency_limit(), 10);
        assert!(!format!("{:?}", t.function.role).contains("Secret"));
    }

    #[test]
    fn origins_and_method_sets() {
        for good in [
            "http://localhost:5173",
            "https://practice.example.com",
            "http://127.0.0.1:9080",
        ] {
            assert!(valid_origin(good), "{good}");
        }
        for bad in [
            "*",
            "http://localhost:5173/",
            "https://a.example/path",
            "localhost:5173",
            "https://*.example.com",
            "http://h:",
            "http://h:123456",
        ] {
            assert!(!valid_origin(bad), "{bad}");
        }
        let set = |m: &[&str]| m.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(allowed_method_set(&set(&["HEAD", "GET"])));
        assert!(allowed_method_set(&set(&["GET", "HEAD", "OPTIONS"])));
        assert!(!allowed_method_set(&set(&["GET", "HEAD", "POST"])));
        let mut t = Topology::default();
        t.distribution.behaviors[0].allowed_methods = set(&["GET", "POST"]);
        assert!(t.validate().unwrap_err().to_string().contains("three sets"));
        let mut t = Topology::default();
        t.allow_origin("http://localhost:5173/");
        assert!(t.validate().is_err());
    }

    #[test]
    fn custom_error_responses_from_toml_follow_the_api_rules() {
        let read = |toml_text: &str| {
            let file = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(file.path(), toml_text).unwrap();
            Topology::from_toml_file(file.path()).map_err(|e| e.to_string())
        };
        let spa = "[[distribution.custom_error_responses]]\nerror_code = 403\nresponse_code = 200\nresponse_page_path = \"/index.html\"\n";
        let topology = read(spa).unwrap();
        assert!(topology.distribution.custom_error_responses[0].masks_error());
        assert_eq!(
            topology.distribution.behaviors,
            Topology::default().distribution.behaviors
        );
        for (bad, why) in [
            (
                spa.replace("403", "401"),
                "error_code 401 is not one CloudFront caches",
            ),
            (
                spa.replace("response_code = 200", "response_code = 302"),
                "response_code 302 is not 200",
            ),
            (
                spa.replace("\"/index.html\"", "\"index.html\""),
                "must be a path beginning with /",
            ),
            (
                spa.replace("response_page_path = \"/index.html\"\n", ""),
                "response_code and response_page_path go together",
            ),
            (format!("{spa}{spa}"), "error_code 403 is given twice"),
        ] {
            let error = read(&bad).unwrap_err();
            assert!(error.contains(why), "{bad}: {error}");
        }
        let ttl_only = read("[[distribution.custom_error_responses]]\nerror_code = 502\nerror_caching_min_ttl_s = 0\n").unwrap();
        assert!(!ttl_only.distribution.custom_error_responses[0].masks_error());
    }

    #[test]
    fn toml_overrides_only_what_it_names() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let dir = file.path().to_owned();
        std::fs::write(&dir, "[function]\nreserved_concurrency = 50\ntimeout_s = 5\n[function_url]\ninvoke_mode = \"BUFFERED\"\n").unwrap();
        let t = Topology::from_toml_file(&dir).unwrap();
        assert_eq!(t.function.reserved_concurrency, 50);
        assert_eq!(t.function.timeout_s, 5);
        assert_eq!(t.function.memory_mb, 256, "unnamed fields keep the default");
        assert_eq!(t.function_url.invoke_mode, InvokeMode::Buffered);
        assert_eq!(t.resource_policy.len(), 2);
        std::fs::write(&dir, "[function_url]\ninvoke_mode = \"STREAMING\"\n").unwrap();
        let error = Topology::from_toml_file(&dir).unwrap_err().to_string();
        assert!(
            error.contains("unknown variant `STREAMING`, expected `BUFFERED` or `RESPONSE_STREAM`"),
            "{error}"
        );
    }
}
