//! The one way weld writes an output file: atomically.

use std::path::{Path, PathBuf};

/// An output could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct WriteError {
    /// The output path.
    pub path: String,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory, then a rename. On failure the previous file is untouched and
/// the temporary file is removed. The file gets the mode of the file it
/// replaces, or a new file's usual mode (`0666` less the umask), not the
/// private mode of a temporary file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    stage(path, bytes)?.commit()
}

/// An output written to its temporary file and not yet renamed into place:
/// [`Staged::commit`] renames it; dropping it removes the temporary file and
/// leaves the previous output untouched. (So a caller can write while it
/// still checks what it writes, and keep the output only if the check
/// passes.)
#[derive(Debug)]
pub struct Staged {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

/// Writes `bytes` to a temporary file next to `path`, with the mode
/// [`write_atomic`] gives; the output is in place once the result is
/// committed.
pub fn stage(path: &Path, bytes: &[u8]) -> Result<Staged, WriteError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let result = (|| {
        let mut builder = tempfile::Builder::new();
        builder.prefix(".weld-").suffix(".tmp");
        let existing = std::fs::metadata(path).ok().map(|m| m.permissions());
        #[cfg(unix)]
        let mode = {
            use std::os::unix::fs::PermissionsExt;
            // Given to open(2), so the umask applies to a new file's mode.
            existing
                .clone()
                .unwrap_or_else(|| std::fs::Permissions::from_mode(0o666))
        };
        #[cfg(unix)]
        builder.permissions(mode);
        let mut tmp = builder.tempfile_in(dir)?;
        // An existing file's mode exactly (open(2) masked it).
        if let Some(p) = existing {
            tmp.as_file().set_permissions(p)?;
        }
        write_parallel(tmp.as_file_mut(), bytes)?;
        Ok(tmp)
    })();
    match result {
        Ok(tmp) => Ok(Staged {
            tmp,
            path: path.to_path_buf(),
        }),
        Err(source) => Err(WriteError {
            path: path.display().to_string(),
            source,
        }),
    }
}

impl Staged {
    /// Renames the temporary file over the output.
    pub fn commit(self) -> Result<(), WriteError> {
        // No fsync: like other linkers, weld leaves durability to the file
        // system (ext4 and others flush a file renamed over another). What
        // the rename gives is that a reader, or a failed run, never sees a
        // partial output.
        let Staged { tmp, path } = self;
        tmp.persist(&path).map(drop).map_err(|e| WriteError {
            path: path.display().to_string(),
            source: e.error,
        })
    }
}

/// Writes `bytes` at the start of `file`: large outputs in pieces from the
/// rayon pool at once (copying into the page cache is most of the cost of
/// a write).
fn write_parallel(file: &mut std::fs::File, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    const PIECE: usize = 4 << 20;
    reserve(file, bytes.len() as u64);
    #[cfg(unix)]
    if bytes.len() > 2 * PIECE && rayon::current_num_threads() > 1 {
        use rayon::prelude::*;
        use std::os::unix::fs::FileExt;
        file.set_len(bytes.len() as u64)?;
        let f = &*file;
        return bytes
            .par_chunks(PIECE)
            .enumerate()
            .try_for_each(|(i, piece)| f.write_all_at(piece, (i * PIECE) as u64));
    }
    file.write_all(bytes)
}

/// Allocates the blocks of a `len`-byte file before it is written (Linux
/// `fallocate`, which never falls back to writing zeros). Without it,
/// ext4 and XFS allocate a new file's blocks lazily, and the next run pays
/// for that when its rename replaces this file: freeing a recently written
/// file of delayed-allocation pages costs about 1 ms per MB, all of it
/// inside the rename (19 ms of a 30 MB fuse here), against well under a
/// millisecond for allocated blocks. A file system that cannot reserve
/// (`EOPNOTSUPP`) or has no room (the write then reports it) is left as is.
fn reserve(file: &std::fs::File, len: u64) {
    #[cfg(target_os = "linux")]
    if len > 0 {
        let _ = rustix::fs::fallocate(file, rustix::fs::FallocateFlags::empty(), 0, len);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, len);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn outputs_get_a_files_usual_mode_and_keep_an_existing_one() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.wasm");
        write_atomic(&p, b"one").unwrap();
        // The mode a plain new file gets here (0666 less the umask).
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        let usual = std::fs::metadata(&plain).unwrap().permissions().mode() & 0o777;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, usual, "not a new file's usual mode");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
    }

    /// Outputs over two pieces go out in parallel pieces, into blocks
    /// reserved first: the file holds exactly the bytes, whatever was at the
    /// path before (longer or shorter).
    #[test]
    fn reserved_and_parallel_writes_hold_exactly_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.wasm");
        let big: Vec<u8> = (0..(9usize << 20) + 12_345)
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        write_atomic(&p, &big).unwrap();
        assert!(std::fs::read(&p).unwrap() == big, "the large output differs");
        let small = &big[1000..5000];
        write_atomic(&p, small).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), small);
        write_atomic(&p, &big).unwrap();
        assert!(
            std::fs::read(&p).unwrap() == big,
            "the large output over a small one differs"
        );
        write_atomic(&p, b"").unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 0);
    }

    #[test]
    fn a_staged_output_dropped_leaves_the_previous_one_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.wasm");
        write_atomic(&p, b"old").unwrap();
        let staged = stage(&p, b"new").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"old", "staging replaced the output");
        drop(staged);
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["out.wasm"], "a temporary file was left");
        stage(&p, b"new").unwrap().commit().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
    }
}
