//! SQS queues and their policies (`sqs:ListQueues`, `GetQueueAttributes`, `ListQueueTags`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The SQS inventory of one region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqsInventory {
    /// Every queue, sorted by URL.
    pub queues: Vec<Queue>,
}

/// One queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    /// The queue URL (it contains the account ID).
    pub queue_url: String,
    /// The `QueueArn` attribute.
    pub queue_arn: String,
    /// The `Policy` attribute as raw JSON text; absent when the queue has none.
    pub policy: Option<String>,
    /// The queue's tags.
    pub tags: crate::Tags,
}
