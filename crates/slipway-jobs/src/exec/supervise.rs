//! The timeout and cancellation state machine both executors share: wait for the job; on
//! timeout or cancellation send SIGTERM, wait the grace period, then SIGKILL until it is gone.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{ExecError, Reason, Status, Stop};

/// What slipway asks the job's processes to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    Terminate,
    Kill,
}

/// How often SIGKILL is repeated while the job has not ended (a container that was not running
/// yet when the first one was sent).
const KILL_AGAIN: Duration = Duration::from_secs(1);

/// Waits for `exited`, stopping the job through `send` when `timeout` passes or `cancel` fires.
/// A cancellation during the grace period of a timed-out job skips the rest of the grace period.
pub(crate) async fn supervise<Sent: Future<Output = ()>>(
    exited: impl Future<Output = Result<Status, ExecError>>,
    timeout: Duration,
    grace_period: Duration,
    cancel: &CancellationToken,
    mut send: impl FnMut(Signal) -> Sent,
) -> Result<(Status, Option<Stop>), ExecError> {
    let mut exited = std::pin::pin!(exited);
    let reason = tokio::select! {
        status = &mut exited => return Ok((status?, None)),
        () = tokio::time::sleep(timeout) => Reason::TimedOut(timeout),
        () = cancel.cancelled() => Reason::Aborted,
    };
    send(Signal::Terminate).await;
    tokio::select! {
        status = &mut exited => return Ok((status?, Some(Stop { reason, killed: false }))),
        () = tokio::time::sleep(grace_period) => {}
        () = cancel.cancelled(), if reason != Reason::Aborted => {}
    }
    let stop = Some(Stop { reason, killed: true });
    loop {
        send(Signal::Kill).await;
        tokio::select! {
            status = &mut exited => return Ok((status?, stop)),
            () = tokio::time::sleep(KILL_AGAIN) => {}
        }
    }
}
