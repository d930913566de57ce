//! AWS call failures as data: the operation (as an IAM action), AWS's error code, a message a
//! person can read, and the raw detail kept for diagnosis.
//!
//! The SDK models the errors each API documents. Everything else arrives as an unmodelled
//! error whose `Display` is a dump of the whole HTTP response: an XML body from a service
//! that speaks JSON, `SignatureDoesNotMatch`, an STS error the model lacks, a proxy's 403.
//! [`ApiError::from_sdk`] reads the code and message out of the response itself (the
//! `x-amzn-errortype` header, a JSON body's `__type`/`code` and `message`, or an XML body's
//! `<Code>` and `<Message>`), and keeps the status and body in
//! [`ApiError::detail`], which goes to the snapshot only. Transport failures (DNS,
//! connection, timeout) become one sentence, their cause chain the detail.

use std::fmt;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use headroom_schemas::status::CollectionError;

/// At most this many characters of a message.
const MAX_MESSAGE: usize = 400;
/// At most this many bytes of a response body in [`ApiError::detail`].
const MAX_BODY: usize = 2048;

/// One failed AWS call. It becomes a [`CollectionError`] in the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The IAM action of the failed call (`ec2:DescribeInstances`).
    pub operation: String,
    /// AWS's error code (`AccessDenied`), when AWS sent one.
    pub code: Option<String>,
    /// What went wrong, on one line, for people.
    pub message: String,
    /// The raw detail (status and body, or the cause chain), for the snapshot only.
    pub detail: Option<String>,
}

impl ApiError {
    /// An error from an SDK call.
    pub fn from_sdk<E>(operation: &str, err: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let modelled_code = err.code().filter(|c| !c.is_empty()).map(str::to_owned);
        let modelled_message = err
            .message()
            .filter(|m| !m.trim().is_empty())
            .map(str::to_owned);
        let (code, message, detail) = match err {
            SdkError::ServiceError(context) => {
                let raw = context.raw();
                let found = from_response(raw);
                let code = modelled_code.or(found.code);
                let message = modelled_message.or(found.message).unwrap_or_else(|| {
                    format!("HTTP {} with no error message", raw.status().as_u16())
                });
                (code, message, Some(found.detail))
            }
            SdkError::ResponseError(context) => {
                let found = from_response(context.raw());
                (
                    found.code,
                    found.message.unwrap_or_else(|| {
                        format!(
                            "the response could not be read: {}",
                            causes(err).last().map_or("", String::as_str)
                        )
                    }),
                    Some(found.detail),
                )
            }
            SdkError::DispatchFailure(_) => (
                None,
                format!(
                    "cannot reach the endpoint: {}",
                    last_causes(&causes(err), 2)
                ),
                Some(DisplayErrorContext(err).to_string()),
            ),
            SdkError::TimeoutError(_) => (
                None,
                "the request timed out".to_owned(),
                Some(DisplayErrorContext(err).to_string()),
            ),
            _ => (
                modelled_code,
                format!(
                    "the request could not be made: {}",
                    last_causes(&causes(err), 2)
                ),
                Some(DisplayErrorContext(err).to_string()),
            ),
        };
        Self {
            operation: operation.to_owned(),
            code,
            message: one_line(&message),
            detail: detail.map(|d| one_line_unbounded(&d)),
        }
    }

    /// An error `collect` itself found (no AWS error code).
    pub fn other(operation: &str, message: impl Into<String>) -> Self {
        Self {
            operation: operation.to_owned(),
            code: None,
            message: one_line(&message.into()),
            detail: None,
        }
    }

    /// The same error with `context` in front of the message.
    #[must_use]
    pub fn context(mut self, context: &str) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// `<operation> failed with <code>: <message>`, without the detail.
    pub fn summary(&self) -> String {
        self.to_string()
    }
}

/// What an error response says of itself.
struct Found {
    code: Option<String>,
    message: Option<String>,
    detail: String,
}

/// Reads the error code and message out of a response: the `x-amzn-errortype` header, then a
/// JSON or XML body.
fn from_response(raw: &HttpResponse) -> Found {
    let status = raw.status().as_u16();
    let body = raw.body().bytes().unwrap_or_default();
    let text = String::from_utf8_lossy(body);
    let (mut code, message) = parse_body(&text);
    if code.is_none() {
        code = raw.headers().get("x-amzn-errortype").map(clean_code);
    }
    // No request ID header: it differs on every call, and the same organization collected
    // twice must give the same snapshot. (An XML body may still carry AWS's `RequestId`.)
    let mut detail = format!("HTTP {status}");
    if !text.trim().is_empty() {
        detail.push_str("; body: ");
        detail.push_str(truncate(text.trim(), MAX_BODY));
    }
    Found {
        code,
        message,
        detail,
    }
}

/// The error code and message of a JSON (`__type`, `code`, `message`, any case) or XML
/// (`<Code>`, `<Message>`) error body.
pub fn parse_body(body: &str) -> (Option<String>, Option<String>) {
    let trimmed = body.trim_start();
    if trimmed.starts_with('{') {
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(trimmed) {
            let field = |names: &[&str]| {
                map.iter()
                    .find(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
                    .and_then(|(_, v)| v.as_str())
                    .filter(|v| !v.trim().is_empty())
                    .map(str::to_owned)
            };
            let code = field(&["__type", "code", "errorCode"]).map(|c| clean_code(&c));
            let message = field(&["message", "errorMessage"]);
            return (code, message);
        }
        return (None, None);
    }
    if trimmed.starts_with('<') {
        return (
            xml_element(trimmed, "Code").map(|c| clean_code(&c)),
            xml_element(trimmed, "Message").map(|m| unescape_xml(&m)),
        );
    }
    (None, None)
}

/// The text of the first `<name>...</name>` element.
fn xml_element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    let text = xml[start..end].trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn unescape_xml(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// `com.amazonaws.x#AccessDeniedException` or `AccessDeniedException:http://...` to
/// `AccessDeniedException`.
fn clean_code(code: &str) -> String {
    let code = code.rsplit('#').next().unwrap_or(code);
    let code = code.split(':').next().unwrap_or(code);
    code.trim().to_owned()
}

/// The error's cause chain, each cause's own text, without repeats.
fn causes(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !out.iter().any(|c| c == &text) {
            out.push(text);
        }
        next = e.source();
    }
    out
}

/// The innermost `n` causes, outermost first, joined with `: `.
fn last_causes(causes: &[String], n: usize) -> String {
    let from = causes.len().saturating_sub(n);
    causes[from..].join(": ")
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn one_line(s: &str) -> String {
    let line = one_line_unbounded(s);
    if line.chars().count() <= MAX_MESSAGE {
        return line;
    }
    let cut: String = line.chars().take(MAX_MESSAGE).collect();
    format!("{cut}...")
}

fn one_line_unbounded(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.operation)?;
        if let Some(code) = &self.code {
            write!(f, " failed with {code}")?;
        } else {
            write!(f, " failed")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<ApiError> for CollectionError {
    fn from(e: ApiError) -> Self {
        CollectionError {
            operation: e.operation,
            code: e.code,
            message: e.message,
            detail: e.detail,
        }
    }
}

/// The AWS error code of an SDK error, if AWS sent one.
pub fn code_of<E, R>(err: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    err.code()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_xml_bodies_give_code_and_message() {
        assert_eq!(
            parse_body(r#"{"__type":"com.amazon.coral#AccessDeniedException","Message":"no"}"#),
            (Some("AccessDeniedException".into()), Some("no".into()))
        );
        assert_eq!(
            parse_body(
                "<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>The request signature &amp; more</Message></Error></ErrorResponse>"
            ),
            (
                Some("SignatureDoesNotMatch".into()),
                Some("The request signature & more".into())
            )
        );
        assert_eq!(parse_body("<html>Forbidden</html>"), (None, None));
        assert_eq!(parse_body(""), (None, None));
    }

    #[test]
    fn codes_lose_namespaces_and_urls() {
        assert_eq!(
            clean_code("AccessDeniedException:http://internal.amazon.com/coral/"),
            "AccessDeniedException"
        );
        assert_eq!(clean_code("aws.x#Throttling"), "Throttling");
    }

    #[test]
    fn a_dns_failure_reads_as_one_sentence() {
        use aws_sdk_sts::operation::assume_role::AssumeRoleError;
        use aws_smithy_runtime_api::client::result::ConnectorError;
        let dns = std::io::Error::other(
            "dns error: failed to lookup address information: Name or service not known",
        );
        let err: SdkError<AssumeRoleError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(dns)));
        let api = ApiError::from_sdk("sts:AssumeRole", &err);
        assert_eq!(api.code, None);
        assert!(
            api.message.starts_with("cannot reach the endpoint: ")
                && api
                    .message
                    .ends_with("failed to lookup address information: Name or service not known"),
            "{}",
            api.message
        );
        assert!(api.detail.is_some_and(|d| d.contains("dispatch failure")));
    }

    #[test]
    fn long_messages_are_cut_on_one_line() {
        let long = format!("a\nb {}", "x".repeat(1000));
        let line = one_line(&long);
        assert!(!line.contains('\n'));
        assert!(line.ends_with("...") && line.chars().count() == MAX_MESSAGE + 3);
    }
}
