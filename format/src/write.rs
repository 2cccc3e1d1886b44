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
    let tmp = temporary(path).and_then(|mut tmp| {
        write_parallel(tmp.as_file_mut(), bytes)?;
        Ok(tmp)
    });
    match tmp {
        Ok(tmp) => Ok(Staged {
            tmp,
            path: path.to_path_buf(),
        }),
        Err(source) => Err(failed(path, source)),
    }
}

fn failed(path: &Path, source: std::io::Error) -> WriteError {
    WriteError {
        path: path.display().to_string(),
        source,
    }
}

/// A temporary file next to `path`, with the mode the output gets.
fn temporary(path: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
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
    let tmp = builder.tempfile_in(dir)?;
    // An existing file's mode exactly (open(2) masked it).
    if let Some(p) = existing {
        tmp.as_file().set_permissions(p)?;
    }
    Ok(tmp)
}

/// An output's bytes: built in memory, or in the output file it is written
/// to, through a shared mapping (where `fuse_to` can map it). Reads as a
/// byte slice.
pub enum Output {
    /// Built in memory.
    Owned(Vec<u8>),
    /// Built in the output file's pages, through its mapping.
    Mapped(memmap2::MmapMut),
}

impl Output {
    /// The bytes, owned (a copy when they are mapped).
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            Output::Owned(v) => v,
            Output::Mapped(m) => m.to_vec(),
        }
    }
}

impl std::ops::Deref for Output {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Output::Owned(v) => v,
            Output::Mapped(m) => m,
        }
    }
}

impl AsRef<[u8]> for Output {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // As a byte vector prints (tests compare outputs with vectors).
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl PartialEq for Output {
    fn eq(&self, other: &Output) -> bool {
        **self == **other
    }
}

impl PartialEq<Vec<u8>> for Output {
    fn eq(&self, other: &Vec<u8>) -> bool {
        **self == **other
    }
}

impl PartialEq<Output> for Vec<u8> {
    fn eq(&self, other: &Output) -> bool {
        **self == **other
    }
}

impl From<Vec<u8>> for Output {
    fn from(v: Vec<u8>) -> Output {
        Output::Owned(v)
    }
}

/// An output built in place: its temporary file, blocks reserved
/// (`reserve`), mapped shared, so the output is written straight into the
/// page cache. Against building it in memory and then writing it, this
/// saves the output's worth of fresh anonymous pages and one copy of every
/// byte.
///
/// The file is mapped only once its blocks are reserved, so writing through
/// the mapping never meets a full disk. As any writer through a shared
/// mapping (mold, lld), it trusts that no other process truncates its
/// private temporary file while it is mapped: that would end weld with
/// `SIGBUS`.
pub struct MappedOutput {
    map: memmap2::MmapMut,
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl std::fmt::Debug for MappedOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedOutput")
            .field("path", &self.path)
            .field("len", &self.map.len())
            .finish_non_exhaustive()
    }
}

impl MappedOutput {
    /// A zero-filled `len`-byte output for `path`, or `None` where it cannot
    /// be mapped (an empty output, a file system that cannot reserve blocks,
    /// no room, not Linux): the caller then builds the output in memory and
    /// [`stage`]s it. The error is one [`stage`] meets too (no temporary
    /// file can be made next to `path`).
    pub fn new(path: &Path, len: usize) -> Result<Option<MappedOutput>, WriteError> {
        if !cfg!(target_os = "linux") || len == 0 {
            return Ok(None);
        }
        let tmp = temporary(path).map_err(|e| failed(path, e))?;
        if !reserve(tmp.as_file(), len as u64) {
            return Ok(None);
        }
        // SAFETY: the file is weld's own new temporary file, `len` bytes long
        // with its blocks allocated; nothing else maps or truncates it (see
        // the type's comment).
        #[allow(unsafe_code)]
        let Ok(map) = (unsafe { memmap2::MmapOptions::new().len(len).map_mut(tmp.as_file()) }) else {
            return Ok(None);
        };
        // (The pages are faulted in by the threads that fill them: in one
        // `MADV_POPULATE_WRITE` call first, they cost as much, serially.)
        Ok(Some(MappedOutput {
            map,
            tmp,
            path: path.to_path_buf(),
        }))
    }

    /// The output's bytes, to fill.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.map
    }

    /// The output, and its file staged for [`Staged::commit`].
    pub fn finish(self) -> (Output, Staged) {
        let MappedOutput { map, tmp, path } = self;
        (Output::Mapped(map), Staged { tmp, path })
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
/// Returns whether the blocks are reserved (the file is then `len` bytes
/// long).
fn reserve(file: &std::fs::File, len: u64) -> bool {
    #[cfg(target_os = "linux")]
    if len > 0 {
        return rustix::fs::fallocate(file, rustix::fs::FallocateFlags::empty(), 0, len).is_ok();
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, len);
    false
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

    /// `dir` holds `out.wasm` and nothing else (no temporary file was left).
    fn only_the_output_in(dir: &Path) {
        let names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["out.wasm"], "a temporary file was left");
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
        only_the_output_in(dir.path());
        stage(&p, b"new").unwrap().commit().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
    }

    /// An output built in its mapped temporary file: dropped, it leaves the
    /// previous output and no temporary file; committed, the file holds
    /// exactly the bytes written through the mapping, with the mode of the
    /// file it replaced.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_mapped_output_is_the_file_once_committed_and_nothing_if_dropped() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.wasm");
        write_atomic(&p, b"old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        let fill = |m: &mut MappedOutput| {
            for (i, b) in m.bytes_mut().iter_mut().enumerate() {
                *b = (i * 7 % 253) as u8;
            }
        };
        let len = (3 << 20) + 17;
        let mut m = MappedOutput::new(&p, len)
            .unwrap()
            .expect("a temporary file that maps");
        fill(&mut m);
        drop(m);
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        only_the_output_in(dir.path());

        let mut m = MappedOutput::new(&p, len).unwrap().unwrap();
        fill(&mut m);
        let (bytes, staged) = m.finish();
        staged.commit().unwrap();
        let want: Vec<u8> = (0..len).map(|i| (i * 7 % 253) as u8).collect();
        assert!(bytes == want, "the mapping's bytes differ");
        assert!(
            std::fs::read(&p).unwrap() == want,
            "the file differs from the mapping"
        );
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o640);
        // An empty output is not mapped: the caller writes it.
        assert!(MappedOutput::new(&p, 0).unwrap().is_none());
        // A directory that does not exist is the error `stage` gives.
        let missing = dir.path().join("missing").join("out.wasm");
        let e = MappedOutput::new(&missing, 10).unwrap_err();
        assert_eq!(e.path, missing.display().to_string());
    }
}
