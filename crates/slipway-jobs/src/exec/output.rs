//! The build log: the job's stdout and stderr, read as they come and written by one task that
//! owns the log file (and copies to slipway's stderr when following).

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How much of the job's stderr is kept to explain a container that failed to start.
const TAIL: usize = 4096;

enum Message {
    Output(Vec<u8>),
    /// A line slipway adds (a newline is added when the output did not end with one).
    Note(String),
}

/// The log being written.
pub(crate) struct Pump {
    sender: mpsc::Sender<Message>,
    stdout: JoinHandle<Vec<u8>>,
    stderr: JoinHandle<Vec<u8>>,
    writer: JoinHandle<std::io::Result<()>>,
}

/// What a finished pump leaves: the end of stderr, and whether the log could be written.
pub(crate) struct Pumped {
    pub(crate) stderr_tail: String,
    pub(crate) written: std::io::Result<()>,
}

impl Pump {
    /// Starts copying `stdout` and `stderr` to `log`.
    pub(crate) fn start(
        stdout: impl AsyncRead + Unpin + Send + 'static,
        stderr: impl AsyncRead + Unpin + Send + 'static,
        log: fs_err::tokio::File,
        follow: bool,
        masker: slipway_core::redact::Masker,
    ) -> Pump {
        let (sender, receiver) = mpsc::channel(64);
        Pump {
            stdout: tokio::spawn(read(stdout, sender.clone())),
            stderr: tokio::spawn(read(stderr, sender.clone())),
            sender,
            writer: tokio::spawn(write(receiver, log, follow, masker)),
        }
    }

    /// Waits up to `linger` for the job's pipes to close (a process that escaped the job can
    /// hold them open), appends `notes` and closes the log.
    pub(crate) async fn finish(self, linger: Duration, notes: Vec<String>) -> Pumped {
        let Pump { sender, mut stdout, mut stderr, writer } = self;
        let readers = async { ((&mut stdout).await.unwrap_or_default(), (&mut stderr).await.unwrap_or_default()) };
        let stderr_tail = match tokio::time::timeout(linger, readers).await {
            Ok((_, tail)) => String::from_utf8_lossy(&tail).into_owned(),
            Err(_) => {
                stdout.abort();
                stderr.abort();
                String::new()
            }
        };
        for note in notes {
            // The writer only stops early when it panicked, which `written` reports below.
            let _ = sender.send(Message::Note(slipway_core::redact::urls(&note))).await;
        }
        drop(sender);
        let written = writer.await.unwrap_or_else(|panic| Err(std::io::Error::other(panic)));
        Pumped { stderr_tail, written }
    }
}

/// Forwards what `source` gives until it closes; returns the last [`TAIL`] bytes.
async fn read(mut source: impl AsyncRead + Unpin, sender: mpsc::Sender<Message>) -> Vec<u8> {
    let mut tail = Vec::new();
    let mut buffer = vec![0; 16 * 1024];
    loop {
        match source.read(&mut buffer).await {
            Ok(0) | Err(_) => return tail,
            Ok(read) => {
                let chunk = &buffer[..read];
                tail.extend_from_slice(chunk);
                if tail.len() > TAIL {
                    tail.drain(..tail.len() - TAIL);
                }
                if sender.send(Message::Output(chunk.to_vec())).await.is_err() {
                    return tail;
                }
            }
        }
    }
}

/// Writes every message to `log` (and stderr when following), with the run's secrets masked.
/// After a write error it keeps draining, so the job never blocks on a full pipe, and reports
/// the first error at the end.
async fn write(
    mut receiver: mpsc::Receiver<Message>,
    mut log: fs_err::tokio::File,
    follow: bool,
    mut masker: slipway_core::redact::Masker,
) -> std::io::Result<()> {
    let mut failed = None;
    let mut at_line_start = true;
    let mut terminal = tokio::io::stderr();
    let mut closing = false;
    loop {
        let bytes = match receiver.recv().await {
            Some(Message::Output(bytes)) => masker.push(&bytes),
            Some(Message::Note(note)) => {
                let mut bytes = masker.finish();
                let ends_line = bytes.last().map_or(at_line_start, |last| *last == b'\n');
                let separator = if ends_line { "" } else { "\n" };
                bytes.extend(format!("{separator}{}\n", masker.text(&note)).into_bytes());
                bytes
            }
            None => {
                closing = true;
                masker.finish()
            }
        };
        if let Some(last) = bytes.last() {
            at_line_start = *last == b'\n';
        }
        if failed.is_none()
            && let Err(error) = log.write_all(&bytes).await
        {
            failed = Some(error);
        }
        if follow {
            // The terminal going away must not fail the run; the log is the record.
            let _ = terminal.write_all(&bytes).await;
        }
        if closing {
            break;
        }
    }
    if failed.is_none()
        && let Err(error) = log.flush().await
    {
        failed = Some(error);
    }
    failed.map_or(Ok(()), Err)
}
