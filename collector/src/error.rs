//! AWS call failures as data: the operation (as an IAM action), AWS's error code, a message.

use std::fmt;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use headroom_schemas::status::CollectionError;

/// One failed AWS call. It becomes a [`CollectionError`] in the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The IAM action of the failed call (`ec2:DescribeInstances`).
    pub operation: String,
    /// AWS's error code (`AccessDenied`), when AWS sent one.
    pub code: Option<String>,
    /// What went wrong, on one line.
    pub message: String,
}

impl ApiError {
    /// An error from an SDK call.
    pub fn from_sdk<E, R>(operation: &str, err: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        let code = err.code().map(str::to_owned);
        let message = match (err.message(), err) {
            (Some(m), SdkError::ServiceError(_)) if !m.is_empty() => m.to_owned(),
            _ => DisplayErrorContext(err).to_string(),
        };
        Self {
            operation: operation.to_owned(),
            code,
            message: one_line(&message),
        }
    }

    /// An error `collect` itself found (no AWS error code).
    pub fn other(operation: &str, message: impl Into<String>) -> Self {
        Self {
            operation: operation.to_owned(),
            code: None,
            message: one_line(&message.into()),
        }
    }

    /// The same error with `context` in front of the message.
    #[must_use]
    pub fn context(mut self, context: &str) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

fn one_line(s: &str) -> String {
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
