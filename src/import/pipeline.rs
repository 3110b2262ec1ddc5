//! The batch pipeline of one file: the rows are read and mapped on a second thread, which
//! hands the writer batches of `import_batch_rows` items through a channel holding at most
//! two, and frees the batches the writer gives back. No database here.

use std::sync::mpsc;

use crate::import::shadowserver::{FileRows, MappedRow, RowSkip};

/// One row of a file as the engine yields it: mapped, or skipped with its reason.
pub type Item = Result<MappedRow, RowSkip>;

/// What the reading thread hands the writer.
pub struct Batch {
    pub items: Vec<Item>,
    /// Bytes of the file read so far.
    pub bytes: u64,
    /// The file's column names, when they changed since the previous batch (the first batch;
    /// a JSON report's later objects may add keys).
    pub names: Option<Vec<String>>,
}

/// The writer's end of a running pipeline.
pub struct Pipeline<'scope, 'a> {
    batches: mpsc::Receiver<Batch>,
    used: mpsc::Sender<Vec<Item>>,
    reader: std::thread::ScopedJoinHandle<'scope, FileRows<'a>>,
}

impl<'scope, 'a: 'scope> Pipeline<'scope, 'a> {
    /// Starts reading `rows` in batches of `batch_rows` on a thread of `scope`.
    pub fn start<'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        rows: FileRows<'a>,
        batch_rows: usize,
    ) -> Self {
        let (tx, batches) = mpsc::sync_channel::<Batch>(2);
        let (used, used_rx) = mpsc::channel::<Vec<Item>>();
        let reader = scope.spawn(move || read_batches(rows, batch_rows, tx, used_rx));
        Pipeline {
            batches,
            used,
            reader,
        }
    }

    /// The next batch; `None` when the rows ran out.
    pub fn next(&self) -> Option<Batch> {
        self.batches.recv().ok()
    }

    /// Gives a batch the writer is done with back to the reading thread, which allocated its
    /// rows: a free on another thread goes through the allocating thread's arena lock.
    pub fn recycle(&self, items: Vec<Item>) {
        let _ = self.used.send(items);
    }

    /// Stops the reading thread at its next batch and gives the rows back for their final
    /// counters.
    pub fn stop(self) -> FileRows<'a> {
        // Dropping the receiver stops the reader at its next batch.
        drop(self.batches);
        self.reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

/// The reading thread: batches of rows with the bytes read so far, until the rows run out or
/// the writer hangs up; it also frees the batches the writer is done with. Gives the rows back
/// for their final counters.
fn read_batches<'a>(
    mut rows: FileRows<'a>,
    batch_rows: usize,
    tx: mpsc::SyncSender<Batch>,
    used: mpsc::Receiver<Vec<Item>>,
) -> FileRows<'a> {
    let mut names_sent = None;
    loop {
        let mut batch = match used.try_recv() {
            Ok(mut old) => {
                old.clear();
                old
            }
            Err(_) => Vec::with_capacity(batch_rows.min(8192)),
        };
        while let Ok(old) = used.try_recv() {
            drop(old);
        }
        if rows.next_batch(batch_rows, &mut batch) == 0 {
            return rows;
        }
        let width = rows.column_names().len();
        let names = (names_sent != Some(width)).then(|| rows.column_names().to_vec());
        names_sent = Some(width);
        let batch = Batch {
            items: batch,
            bytes: rows.bytes_read(),
            names,
        };
        if tx.send(batch).is_err() {
            return rows;
        }
    }
}
