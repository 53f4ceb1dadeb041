//! One function per implemented operation: request shape, required members, and the call into the
//! directory. Member names in validation messages are the camelCase ones AWS's validator prints.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::error::CognitoError;
use super::parse;
use crate::directory::{SignIn, check_client_secret, check_secret_hash};
use crate::server::AppState;

/// Flows `InitiateAuth` knows, in the order AWS's enum validator lists them.
const AUTH_FLOWS: &[&str] = &[
    "USER_SRP_AUTH",
    "REFRESH_TOKEN_AUTH",
    "REFRESH_TOKEN",
    "CUSTOM_AUTH",
    "ADMIN_NO_SRP_AUTH",
    "USER_PASSWORD_AUTH",
    "ADMIN_USER_PASSWORD_AUTH",
    "USER_AUTH",
];

pub(super) fn run(
    state: &AppState,
    operation: &str,
    request: Value,
    signed: bool,
) -> Result<Value, CognitoError> {
    let admin = operation.starts_with("Admin");
    if admin && !signed {
        // Admin operations are IAM-authorised; the fake checks a SigV4 header is present but does not
        // verify it (any credentials work, as the AWS CLI's dummy ones must).
        return Err(CognitoError::MissingAuthenticationToken);
    }
    match operation {
        "InitiateAuth" => initiate_auth(state, parse(request)?),
        "RespondToAuthChallenge" => respond_to_auth_challenge(state, parse(request)?),
        "GetTokensFromRefreshToken" => get_tokens_from_refresh_token(state, parse(request)?),
        "RevokeToken" => revoke_token(state, parse(request)?),
        "GetUser" => get_user(state, parse(request)?),
        "SignUp" => sign_up(state, parse(request)?),
        "ConfirmSignUp" => confirm_sign_up(state, parse(request)?),
        "AdminCreateUser" => admin_create_user(state, parse(request)?),
        "AdminSetUserPassword" => admin_set_user_password(state, parse(request)?),
        _ => Err(CognitoError::UnknownOperation),
    }
}

fn required<'a>(value: &'a Option<String>, member: &str) -> Result<&'a str, CognitoError> {
    value
        .as_deref()
        .ok_or_else(|| CognitoError::missing_member(member))
}

fn auth_parameter<'a>(
    parameters: &'a HashMap<String, String>,
    name: &str,
) -> Result<&'a str, CognitoError> {
    parameters
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| CognitoError::InvalidParameter(format!("Missing required parameter {name}")))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AttributeType {
    name: Option<String>,
    value: Option<String>,
}

fn attributes(list: Option<Vec<AttributeType>>) -> Result<Vec<(String, String)>, CognitoError> {
    list.unwrap_or_default()
        .into_iter()
        .map(|a| {
            let name = a
                .name
                .ok_or_else(|| CognitoError::missing_member("userAttributes.member.name"))?;
            if name == "sub" {
                return Err(CognitoError::InvalidParameter(
                    "Cannot modify the non-mutable attribute sub".into(),
                ));
            }
            Ok((name, a.value.unwrap_or_default()))
        })
        .collect()
}

// ---- InitiateAuth ---------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InitiateAuthRequest {
    auth_flow: Option<String>,
    client_id: Option<String>,
    #[serde(default)]
    auth_parameters: HashMap<String, String>,
}

fn initiate_auth(state: &AppState, request: InitiateAuthRequest) -> Result<Value, CognitoError> {
    let flow = required(&request.auth_flow, "authFlow")?;
    let client_id = required(&request.client_id, "clientId")?;
    if !AUTH_FLOWS.contains(&flow) {
        return Err(CognitoError::InvalidParameter(format!(
            "1 validation error detected: Value '{flow}' at 'authFlow' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            AUTH_FLOWS.join(", ")
        )));
    }
    let now = state.clock.now_epoch_seconds();
    let mut directory = state.directory();
    let (pool, client) = directory.client_mut(client_id)?;
    let params = &request.auth_parameters;
    match flow {
        "USER_PASSWORD_AUTH" => {
            if !client.allows("USER_PASSWORD_AUTH") {
                return Err(CognitoError::InvalidParameter(
                    "USER_PASSWORD_AUTH flow not enabled for this client".into(),
                ));
            }
            let username = auth_parameter(params, "USERNAME")?;
            let password = auth_parameter(params, "PASSWORD")?;
            check_secret_hash(
                &client,
                username,
                params.get("SECRET_HASH").map(String::as_str),
            )?;
            Ok(sign_in_reply(
                pool.password_sign_in(&client, username, password, now)?,
            ))
        }
        "USER_SRP_AUTH" => {
            if !client.allows("USER_SRP_AUTH") {
                return Err(CognitoError::InvalidParameter(
                    "USER_SRP_AUTH is not enabled for the client.".into(),
                ));
            }
            let username = auth_parameter(params, "USERNAME")?;
            let srp_a = auth_parameter(params, "SRP_A")?;
            check_secret_hash(
                &client,
                username,
                params.get("SECRET_HASH").map(String::as_str),
            )?;
            let parameters = pool.srp_challenge(&client, username, srp_a, now)?;
            Ok(json!({
                "ChallengeName": "PASSWORD_VERIFIER",
                "ChallengeParameters": parameters,
            }))
        }
        "REFRESH_TOKEN_AUTH" | "REFRESH_TOKEN" => {
            if !client.allows("REFRESH_TOKEN_AUTH") {
                return Err(CognitoError::InvalidParameter(
                    "REFRESH_TOKEN_AUTH flow not enabled for this client".into(),
                ));
            }
            // "Refresh token rotation must be completed with GetTokensFromRefreshToken" (API reference,
            // RefreshTokenRotationType; the developer guide: "You can't authenticate with
            // REFRESH_TOKEN_AUTH in app clients with refresh token rotation enabled"). UNSURE: the
            // exception's type and words are not documented; InvalidParameterException, as for a flow
            // the client does not allow.
            if client.refresh_token_rotation {
                return Err(CognitoError::InvalidParameter(
                    "REFRESH_TOKEN_AUTH is not supported for app clients with refresh token rotation enabled; use GetTokensFromRefreshToken".into(),
                ));
            }
            let token = auth_parameter(params, "REFRESH_TOKEN")?;
            if let Some(owner) = pool.refresh_token_owner(token) {
                let secret_hash = params.get("SECRET_HASH").map(String::as_str);
                check_secret_hash(&client, &owner, secret_hash)?;
            }
            // InitiateAuth never rotates; rotation is GetTokensFromRefreshToken's (AWS API docs).
            let result = pool.refresh(&client, token, false, now)?;
            Ok(json!({ "AuthenticationResult": result, "ChallengeParameters": {} }))
        }
        other if client.allows(other) => {
            // Visibly unfinished: custom and passwordless flows are not emulated (see the README).
            Err(CognitoError::InvalidParameter(format!(
                "{other} is not implemented by fake-cognito; use USER_SRP_AUTH or USER_PASSWORD_AUTH"
            )))
        }
        other => Err(CognitoError::InvalidParameter(format!(
            "{other} flow not enabled for this client"
        ))),
    }
}

/// The body of a sign-in step: tokens, or the next challenge.
fn sign_in_reply(sign_in: SignIn) -> Value {
    match sign_in {
        SignIn::Authenticated(result) => json!({
            "AuthenticationResult": result,
            "ChallengeParameters": {},
        }),
        SignIn::NewPasswordRequired {
            session,
            username,
            user_attributes,
        } => json!({
            "ChallengeName": "NEW_PASSWORD_REQUIRED",
            "ChallengeParameters": {
                "USER_ID_FOR_SRP": username,
                "requiredAttributes": "[]",
                "userAttributes": user_attributes,
            },
            "Session": session,
        }),
    }
}

// ---- GetTokensFromRefreshToken --------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetTokensFromRefreshTokenRequest {
    client_id: Option<String>,
    refresh_token: Option<String>,
    client_secret: Option<String>,
}

/// What Amplify v6 calls to refresh. Rotates the refresh token when the client enables rotation; the
/// old one then stops working at once (AWS allows a configurable grace; the fake's is 0).
fn get_tokens_from_refresh_token(
    state: &AppState,
    request: GetTokensFromRefreshTokenRequest,
) -> Result<Value, CognitoError> {
    let client_id = required(&request.client_id, "clientId")?;
    let token = required(&request.refresh_token, "refreshToken")?;
    let now = state.clock.now_epoch_seconds();
    let mut directory = state.directory();
    let (pool, client) = directory.client_mut(client_id)?;
    check_client_secret(&client, request.client_secret.as_deref())?;
    // UNSURE: the API reference names no auth flow for GetTokensFromRefreshToken; ExplicitAuthFlows
    // documents ALLOW_REFRESH_TOKEN_AUTH as the flag that enables refreshing tokens at all, so a client
    // without it may not refresh here either.
    if !client.allows("REFRESH_TOKEN_AUTH") {
        return Err(CognitoError::InvalidParameter(
            "REFRESH_TOKEN_AUTH flow not enabled for this client".into(),
        ));
    }
    let result = pool.refresh(&client, token, client.refresh_token_rotation, now)?;
    Ok(json!({ "AuthenticationResult": result }))
}

// ---- RevokeToken and GetUser ----------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RevokeTokenRequest {
    token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// Revokes a refresh token (and, for Cognito's APIs, the access tokens of its sign-in); `{}` back.
fn revoke_token(state: &AppState, request: RevokeTokenRequest) -> Result<Value, CognitoError> {
    let client_id = required(&request.client_id, "clientId")?;
    let token = required(&request.token, "token")?;
    let mut directory = state.directory();
    let (pool, client) = directory.client_mut(client_id)?;
    check_client_secret(&client, request.client_secret.as_deref())?;
    pool.revoke(&client, token)?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetUserRequest {
    access_token: Option<String>,
}

/// The signed-in user's name and attributes, for a valid, unrevoked access token.
fn get_user(state: &AppState, request: GetUserRequest) -> Result<Value, CognitoError> {
    let token = required(&request.access_token, "accessToken")?;
    let now = state.clock.now_epoch_seconds();
    state.directory().get_user(token, now)
}

// ---- RespondToAuthChallenge -----------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RespondToAuthChallengeRequest {
    client_id: Option<String>,
    challenge_name: Option<String>,
    session: Option<String>,
    #[serde(default)]
    challenge_responses: HashMap<String, String>,
}

fn respond_to_auth_challenge(
    state: &AppState,
    request: RespondToAuthChallengeRequest,
) -> Result<Value, CognitoError> {
    let client_id = required(&request.client_id, "clientId")?;
    let challenge = required(&request.challenge_name, "challengeName")?;
    let now = state.clock.now_epoch_seconds();
    let mut directory = state.directory();
    let (pool, client) = directory.client_mut(client_id)?;
    let responses = &request.challenge_responses;
    match challenge {
        "NEW_PASSWORD_REQUIRED" => {
            let session = request.session.as_deref().ok_or_else(|| {
                CognitoError::NotAuthorized("Invalid session for the user.".into())
            })?;
            let username = auth_parameter(responses, "USERNAME")?;
            let new_password = auth_parameter(responses, "NEW_PASSWORD")?;
            check_secret_hash(
                &client,
                username,
                responses.get("SECRET_HASH").map(String::as_str),
            )?;
            let result =
                pool.complete_new_password(&client, session, username, new_password, now)?;
            Ok(json!({ "AuthenticationResult": result, "ChallengeParameters": {} }))
        }
        "PASSWORD_VERIFIER" => {
            let username = auth_parameter(responses, "USERNAME")?;
            let secret_block = auth_parameter(responses, "PASSWORD_CLAIM_SECRET_BLOCK")?;
            let signature = auth_parameter(responses, "PASSWORD_CLAIM_SIGNATURE")?;
            let timestamp = auth_parameter(responses, "TIMESTAMP")?;
            check_secret_hash(
                &client,
                username,
                responses.get("SECRET_HASH").map(String::as_str),
            )?;
            Ok(sign_in_reply(pool.srp_verify(
                &client,
                secret_block,
                timestamp,
                signature,
                now,
            )?))
        }
        other => Err(CognitoError::InvalidParameter(format!(
            "Challenge {other} is not implemented by fake-cognito"
        ))),
    }
}

// ---- SignUp / ConfirmSignUp -----------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SignUpRequest {
    client_id: Option<String>,
    username: Option<String>,
    password: Option<String>,
    secret_hash: Option<String>,
    user_attributes: Option<Vec<AttributeType>>,
}

fn sign_up(state: &AppState, request: SignUpRequest) -> Result<Value, CognitoError> {
    let client_id = required(&request.client_id, "clientId")?;
    let username = required(&request.username, "username")?;
    let password = required(&request.password, "password")?;
    let attributes = attributes(request.user_attributes.clone())?;
    let now = state.clock.now_epoch_seconds();
    let mut directory = state.directory();
    let (pool, client) = directory.client_mut(client_id)?;
    check_secret_hash(&client, username, request.secret_hash.as_deref())?;
    let result = pool.sign_up(username, password, attributes, now)?;
    if let Some(code) = pool.confirmation_code(username) {
        tracing::info!(pool = %pool.config.id, %username, %code, "sign-up confirmation code");
    }
    Ok(serde_json::to_value(result).unwrap_or_default())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ConfirmSignUpRequest {
    client_id: Option<String>,
    username: Option<String>,
    confirmation_code: Option<String>,
    secret_hash: Option<String>,
}

fn confirm_sign_up(state: &AppState, request: ConfirmSignUpRequest) -> Result<Value, CognitoError> {
    let client_id = required(&request.client_id, "clientId")?;
    let username = required(&request.username, "username")?;
    let code = required(&request.confirmation_code, "confirmationCode")?;
    let now = state.clock.now_epoch_seconds();
    let mut directory = state.directory();
    let (pool, client) = directory.client_mut(client_id)?;
    check_secret_hash(&client, username, request.secret_hash.as_deref())?;
    pool.confirm_sign_up(username, code, now)?;
    Ok(json!({}))
}

// ---- AdminCreateUser / AdminSetUserPassword -------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AdminCreateUserRequest {
    user_pool_id: Option<String>,
    username: Option<String>,
    temporary_password: Option<String>,
    user_attributes: Option<Vec<AttributeType>>,
}

fn admin_create_user(
    state: &AppState,
    request: AdminCreateUserRequest,
) -> Result<Value, CognitoError> {
    let pool_id = required(&request.user_pool_id, "userPoolId")?;
    let username = required(&request.username, "username")?;
    let attributes = attributes(request.user_attributes.clone())?;
    let now = state.clock.now_epoch_seconds();
    let mut directory = state.directory();
    let pool = directory.pool_mut(pool_id)?;
    let user = pool.admin_create_user(
        username,
        request.temporary_password.as_deref(),
        attributes,
        now,
    )?;
    Ok(json!({ "User": user }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AdminSetUserPasswordRequest {
    user_pool_id: Option<String>,
    username: Option<String>,
    password: Option<String>,
    #[serde(default)]
    permanent: bool,
}

fn admin_set_user_password(
    state: &AppState,
    request: AdminSetUserPasswordRequest,
) -> Result<Value, CognitoError> {
    let pool_id = required(&request.user_pool_id, "userPoolId")?;
    let username = required(&request.username, "username")?;
    let password = required(&request.password, "password")?;
    let now = state.clock.now_epoch_seconds();
    let mut directory = state.directory();
    let pool = directory.pool_mut(pool_id)?;
    pool.admin_set_user_password(username, password, request.permanent, now)?;
    Ok(json!({}))
}
