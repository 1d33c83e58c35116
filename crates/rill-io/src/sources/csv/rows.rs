//! Splits CSV input into rows.
//!
//! Machine-written CSV rarely quotes: a row whose line (ended by `\n` or `\r\n`) holds no `"`
//! is split with `memchr` straight from the read buffer (no copy, about one instruction per
//! byte). Any other row — quoted fields, quoted newlines, lone `\r` terminators — goes through
//! `csv_core`'s parser, so quoting rules are `csv_core`'s exactly. Blank lines are skipped; a
//! row's line number is the line it starts on (lines counted by `\n`); a UTF-8 byte-order mark
//! at the start of the input is dropped.

use memchr::{memchr, memchr2, memchr3, memchr_iter};
use std::io::{self, Read};

/// Initial read-buffer size; it grows only for a row longer than the buffer.
const BUF_SIZE: usize = 64 * 1024;

/// One row: its cells are `data[start(i)..ends[i]]`.
#[derive(Clone, Copy)]
pub(super) struct Row<'a> {
    /// The row's bytes: the line itself (fast path, cells separated by one delimiter byte) or
    /// the unescaped cells back to back (`csv_core` path).
    data: &'a [u8],
    ends: &'a [usize],
    /// Bytes between one cell's end and the next cell's start (1 or 0).
    gap: usize,
    /// Line (1-based) where the row starts.
    pub line: u64,
}

impl<'a> Row<'a> {
    /// Number of cells.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The byte range of cell `i` within [`bytes`](Self::bytes).
    #[inline]
    pub fn range(&self, i: usize) -> std::ops::Range<usize> {
        let start = if i == 0 {
            0
        } else {
            self.ends[i - 1] + self.gap
        };
        start..self.ends[i]
    }

    /// The bytes all cells are slices of (one UTF-8 check covers the whole row).
    pub fn bytes(&self) -> &'a [u8] {
        self.data
    }

    /// Cell `i`'s bytes.
    pub fn cell(&self, i: usize) -> &'a [u8] {
        &self.data[self.range(i)]
    }

    /// The cells in order.
    pub fn cells(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        (0..self.len()).map(|i| self.cell(i))
    }
}

/// Where the current row's bytes are.
enum Current {
    None,
    /// `buf[start..end]`, split by the delimiter.
    Buffer(usize, usize),
    /// `slow[..len]` with cell ends `slow_ends[..cells]`, unescaped by `csv_core`.
    Parsed {
        len: usize,
        cells: usize,
    },
}

/// Reads rows from `R` (see the module doc).
pub(super) struct RowReader<R> {
    input: R,
    buf: Vec<u8>,
    /// First unread byte of `buf`.
    pos: usize,
    /// End of the bytes read into `buf`.
    filled: usize,
    eof: bool,
    started: bool,
    delimiter: u8,
    core: csv_core::Reader,
    /// Line number of the byte at `pos`.
    line: u64,
    current: Current,
    row_line: u64,
    /// Cell ends of a row split in the buffer.
    ends: Vec<usize>,
    /// Scratch buffers `csv_core` writes a row into (kept at their size, never cleared).
    slow: Vec<u8>,
    slow_ends: Vec<usize>,
    /// The last row held quotes: try `csv_core` first (a file that quotes every row then skips
    /// the fast path's probe), until a row comes without.
    quoting: bool,
    /// Longest field `csv_core` may unescape (bounds a runaway quote).
    max_field: usize,
}

/// Whether a row's raw bytes, read so far, leave a quoted field open (the rules of `csv_core`'s
/// default dialect: a `"` opens a quoted field only as a field's first byte, `""` inside one is
/// an escaped quote). Scans with `memchr`, so it adds little to `csv_core`'s own pass.
#[derive(Clone, Copy)]
struct QuoteScan {
    in_quotes: bool,
    /// A `"` was the last byte seen inside a quoted field: it closes the field unless the next
    /// byte is another `"`.
    pending: bool,
    field_start: bool,
}

impl QuoteScan {
    const ROW_START: QuoteScan = QuoteScan {
        in_quotes: false,
        pending: false,
        field_start: true,
    };

    fn scan(&mut self, bytes: &[u8], delimiter: u8) {
        let mut i = 0;
        loop {
            if self.pending {
                let Some(&b) = bytes.get(i) else { return };
                self.pending = false;
                if b == b'"' {
                    i += 1;
                    continue;
                }
                self.in_quotes = false;
                self.field_start = false;
            }
            if self.in_quotes {
                match memchr(b'"', &bytes[i..]) {
                    Some(j) => {
                        i += j + 1;
                        self.pending = true;
                    }
                    None => return,
                }
                continue;
            }
            if self.field_start {
                match bytes.get(i) {
                    None => return,
                    Some(b'"') => {
                        self.in_quotes = true;
                        self.field_start = false;
                        i += 1;
                        continue;
                    }
                    Some(_) => {}
                }
            }
            match memchr3(delimiter, b'\n', b'\r', &bytes[i..]) {
                Some(j) => {
                    i += j + 1;
                    self.field_start = true;
                }
                None => {
                    if i < bytes.len() {
                        self.field_start = false;
                    }
                    return;
                }
            }
        }
    }

    /// True when the input ended inside a quoted field.
    fn open(&self) -> bool {
        self.in_quotes && !self.pending
    }
}

/// The error for a quoted field left open: it names the line where the row (and so, at the
/// latest, the field) starts.
fn open_quote(line: u64, why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("line {line}: {why}"))
}

impl<R: Read> RowReader<R> {
    /// A reader splitting on `delimiter` (an ASCII byte), refusing fields over `max_field` bytes.
    pub fn new(input: R, delimiter: u8, max_field: usize) -> Self {
        RowReader {
            input,
            buf: vec![0; BUF_SIZE],
            pos: 0,
            filled: 0,
            eof: false,
            started: false,
            delimiter,
            core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            line: 1,
            current: Current::None,
            row_line: 0,
            ends: Vec::new(),
            slow: Vec::new(),
            slow_ends: Vec::new(),
            quoting: false,
            max_field,
        }
    }

    /// The row read by the last [`advance`](Self::advance) that returned true.
    pub fn row(&self) -> Row<'_> {
        let (data, ends, gap) = match self.current {
            Current::Buffer(s, e) => (&self.buf[s..e], &self.ends[..], 1),
            Current::Parsed { len, cells } => (&self.slow[..len], &self.slow_ends[..cells], 0),
            Current::None => (&[][..], &[][..], 0),
        };
        Row {
            data,
            ends,
            gap,
            line: self.row_line,
        }
    }

    /// Moves to the next row; false at the end of the input.
    pub fn advance(&mut self) -> io::Result<bool> {
        self.current = Current::None;
        loop {
            // blank lines and the `\r`/`\n` left by a `csv_core` row are skipped (as
            // `csv_core` does at a row start), so a row's line is the line it starts on
            match self.buf[self.pos..self.filled].first() {
                Some(b'\n') => {
                    self.pos += 1;
                    self.line += 1;
                    continue;
                }
                Some(b'\r') => {
                    self.pos += 1;
                    continue;
                }
                Some(_) if self.quoting => return self.parse_with_core(),
                _ => {}
            }
            let avail = &self.buf[self.pos..self.filled];
            // the line ends at the first `\n` or `\r\n`; a lone `\r` (an old Mac file) is a
            // terminator too, which `csv_core` handles (searching on to a `\n` would pull
            // the whole file into the buffer)
            let (content_len, consumed) = match memchr2(b'\n', b'\r', avail) {
                Some(i) if avail[i] == b'\n' => (i, i + 1),
                Some(i) if avail.get(i + 1) == Some(&b'\n') => (i, i + 2),
                Some(i) if i + 1 < avail.len() || self.eof => return self.parse_with_core(),
                Some(_) => {
                    // a `\r` last in the buffer: whether `\n` follows is in the next read
                    self.fill()?;
                    continue;
                }
                None if self.eof => {
                    if avail.is_empty() {
                        return Ok(false);
                    }
                    (avail.len(), avail.len())
                }
                None => {
                    self.fill()?;
                    continue;
                }
            };
            let content = &avail[..content_len];
            if memchr(b'"', content).is_some() {
                return self.parse_with_core();
            }
            let ends_line = avail.get(consumed.wrapping_sub(1)) == Some(&b'\n');
            let start = self.pos;
            let row_line = self.line;
            self.pos += consumed;
            if ends_line {
                self.line += 1;
            }
            self.ends.clear();
            let d = self.delimiter;
            self.ends.extend(memchr_iter(d, content));
            self.ends.push(content.len());
            self.current = Current::Buffer(start, start + content.len());
            self.row_line = row_line;
            return Ok(true);
        }
    }

    /// Parses one row with `csv_core`, starting at `pos` (a row start), reading more input as
    /// the row needs.
    fn parse_with_core(&mut self) -> io::Result<bool> {
        use csv_core::ReadRecordResult as R;
        // the previous row may have ended on a lone `\r`; start from a clean state
        self.core.reset();
        // `reset` also makes `csv_core` take the row for the start of a file and drop a UTF-8
        // byte-order mark there: a row starting with U+FEFF lost it (and a row of only that
        // character vanished, uncounted). `fill` drops the file's own mark; a read that stops
        // at once (no room for output) tells `csv_core` the input has begun, changing nothing
        // else.
        let (res, nin, _, _) = self.core.read_record(b",", &mut [], &mut []);
        debug_assert!(res == R::OutputFull && nin == 0);
        if self.slow.is_empty() {
            self.slow.resize(1024, 0);
            self.slow_ends.resize(64, 0);
        }
        let (mut out, mut nends, mut consumed) = (0, 0, 0);
        // whether the input ends inside a quoted field (csv_core then ends the row quietly)
        let mut quotes = QuoteScan::ROW_START;
        let row_line = self.line;
        loop {
            let input = &self.buf[self.pos..self.filled];
            let (res, nin, nout, nend) =
                self.core
                    .read_record(input, &mut self.slow[out..], &mut self.slow_ends[nends..]);
            quotes.scan(&input[..nin], self.delimiter);
            self.line += memchr_iter(b'\n', &input[..nin]).count() as u64;
            self.pos += nin;
            consumed += nin;
            out += nout;
            nends += nend;
            // the field being read (while the row is incomplete: this stops a runaway quote
            // without buffering the rest of the file), or the longest one of a finished row
            let longest = if res == R::Record {
                let ends = &self.slow_ends[..nends];
                ends.iter()
                    .zip(std::iter::once(&0).chain(ends))
                    .map(|(e, s)| e - s)
                    .max()
                    .unwrap_or(0)
            } else {
                out - nends.checked_sub(1).map_or(0, |i| self.slow_ends[i])
            };
            if longest > self.max_field {
                return Err(open_quote(
                    row_line,
                    &format!(
                        "a field of the row starting here is longer than max_field_bytes \
                         ({} bytes): is a closing quote missing?",
                        self.max_field
                    ),
                ));
            }
            match res {
                R::InputEmpty => {
                    if self.pos == self.filled && !self.eof {
                        self.fill()?;
                    }
                    // at the end of input, the next call (with empty input) ends the record
                }
                R::OutputFull => self.slow.resize(2 * self.slow.len(), 0),
                R::OutputEndsFull => self.slow_ends.resize(2 * self.slow_ends.len(), 0),
                R::Record if quotes.open() && self.eof && self.pos == self.filled => {
                    return Err(open_quote(
                        row_line,
                        "a quoted field of the row starting here is not closed before the end \
                         of the file",
                    ));
                }
                R::Record => {
                    // a row without quotes consumed its cells, one delimiter between cells and
                    // a terminator of at most 2 bytes; quotes add at least 2 bytes
                    self.quoting = consumed > out + nends + 1;
                    self.current = Current::Parsed {
                        len: out,
                        cells: nends,
                    };
                    self.row_line = row_line;
                    return Ok(true);
                }
                R::End => return Ok(false),
            }
        }
    }

    /// Moves the unread bytes to the front of the buffer and reads more after them (growing the
    /// buffer when a row fills it). Sets `eof` when the input has nothing more.
    fn fill(&mut self) -> io::Result<()> {
        if self.pos > 0 {
            self.started = true; // past the start: no byte-order mark to look for
            self.buf.copy_within(self.pos..self.filled, 0);
            self.filled -= self.pos;
            self.pos = 0;
        }
        if self.filled == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let n = loop {
            match self.input.read(&mut self.buf[self.filled..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        self.filled += n;
        if n == 0 {
            self.eof = true;
        }
        if !self.started && (self.filled >= 3 || self.eof) {
            self.started = true;
            if self.buf[..self.filled].starts_with(b"\xEF\xBB\xBF") {
                self.pos = 3;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Rows as the `csv` crate reads them (flexible, no header): cells, and the line of the
    /// row's first byte. (The crate's own `position().line()` is the line where its read began,
    /// before it skipped blank lines and the `\n` of a `\r\n`, so it can lag; a reject names the
    /// line the row is on.)
    fn with_csv_crate(input: &[u8]) -> Vec<(Vec<Vec<u8>>, u64)> {
        with_csv_crate_d(input, b',')
    }

    fn with_csv_crate_d(input: &[u8], delimiter: u8) -> Vec<(Vec<Vec<u8>>, u64)> {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(delimiter)
            .flexible(true)
            .from_reader(input);
        let mut out = Vec::new();
        let mut rec = csv::ByteRecord::new();
        while r.read_byte_record(&mut rec).unwrap() {
            let mut at = rec.position().unwrap().byte() as usize;
            if at == 0 && input.starts_with(b"\xEF\xBB\xBF") {
                at = 3; // the file's byte-order mark, dropped before the first row
            }
            while matches!(input.get(at), Some(b'\r' | b'\n')) {
                at += 1;
            }
            let line = 1 + input[..at].iter().filter(|b| **b == b'\n').count() as u64;
            out.push((rec.iter().map(<[u8]>::to_vec).collect(), line));
        }
        out
    }

    /// A reader that returns at most `chunk` bytes per read (to cross buffer refills).
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn with_rows(input: &[u8], chunk: usize) -> Vec<(Vec<Vec<u8>>, u64)> {
        with_rows_d(input, chunk, b',')
    }

    fn with_rows_d(input: &[u8], chunk: usize, delimiter: u8) -> Vec<(Vec<Vec<u8>>, u64)> {
        let mut r = RowReader::new(Trickle(input, chunk), delimiter, usize::MAX);
        let mut out = Vec::new();
        while r.advance().unwrap() {
            let row = r.row();
            out.push((row.cells().map(<[u8]>::to_vec).collect(), row.line));
        }
        out
    }

    #[test]
    fn plain_quoted_crlf_blank_and_unterminated_rows() {
        let input = b"\xEF\xBB\xBFa,b\r\n\nx,\"q,\"\"uo\nted\",z\r\n1,,3\rlast,row";
        let rows = with_rows(input, 4);
        let cells = |v: &[&str]| v.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
        assert_eq!(
            rows,
            vec![
                (cells(&["a", "b"]), 1),
                (cells(&["x", "q,\"uo\nted", "z"]), 3),
                (cells(&["1", "", "3"]), 5),
                (cells(&["last", "row"]), 5),
            ]
        );
        assert_eq!(rows, with_csv_crate(input));
    }

    /// Found by fuzzing (crates/rill/tests/fuzz_inputs.rs): a row parsed by `csv_core` lost a
    /// leading byte-order mark, and a row holding only one vanished.
    #[test]
    fn a_byte_order_mark_is_dropped_at_the_start_of_the_file_only() {
        let input = "\u{feff}a,\"b\"\r\u{feff}\n\u{feff}x,\"y\"\n\u{feff}\"q\"\n\u{feff}\n";
        let rows = with_rows(input.as_bytes(), 3);
        let cells = |v: &[&str]| v.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
        assert_eq!(
            rows,
            vec![
                (cells(&["a", "b"]), 1),
                (cells(&["\u{feff}"]), 1),
                (cells(&["\u{feff}x", "y"]), 2),
                (cells(&["\u{feff}\"q\""]), 3),
                (cells(&["\u{feff}"]), 4),
            ]
        );
        assert_eq!(rows, with_csv_crate(input.as_bytes()));
    }

    fn first_error(input: &[u8], max_field: usize) -> (usize, String) {
        let mut r = RowReader::new(Trickle(input, 7), b',', max_field);
        let mut rows = 0;
        loop {
            match r.advance() {
                Ok(true) => rows += 1,
                Ok(false) => return (rows, String::new()),
                Err(e) => return (rows, e.to_string()),
            }
        }
    }

    #[test]
    fn an_unclosed_quote_is_reported_at_the_line_of_its_row() {
        let input = b"a,b\n1,2\n3,\"never closed\n4,5\n6,7\n";
        assert_eq!(
            first_error(input, usize::MAX),
            (
                2,
                "line 3: a quoted field of the row starting here is not closed before the end \
                 of the file"
                    .to_string()
            )
        );
        // an escaped quote inside a closed field is fine
        assert_eq!(
            first_error(b"a\n\"x\"\"y\"\n", usize::MAX),
            (2, String::new())
        );
    }

    #[test]
    fn a_field_over_the_limit_stops_the_read_at_its_line() {
        let mut input = b"a,b\n1,\"".to_vec();
        input.extend(std::iter::repeat_n(b'x', 5000));
        input.extend(b"\"\n2,3\n");
        let (rows, err) = first_error(&input, 4096);
        assert_eq!(rows, 1);
        assert_eq!(
            err,
            "line 2: a field of the row starting here is longer than max_field_bytes (4096 \
             bytes): is a closing quote missing?"
        );
        assert_eq!(first_error(&input, 5000), (3, String::new()));
    }

    #[test]
    fn a_row_longer_than_the_buffer_grows_it() {
        let long = "v".repeat(3 * BUF_SIZE);
        let input = format!("a,{long}\nb,c\n");
        let rows = with_rows(input.as_bytes(), 1 << 20);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].0[1].len(), 3 * BUF_SIZE);
        assert_eq!(rows[1], (vec![b"b".to_vec(), b"c".to_vec()], 2));
    }

    #[test]
    fn other_delimiters_split_plain_and_quoted_rows() {
        for d in [b';', b'\t', b'|'] {
            let t = |x: &str| x.replace(',', &(d as char).to_string());
            let input = t("a,b,c\n\"x,y\",,z\n1,\"2\"\"\",3\n");
            let rows = with_rows_d(input.as_bytes(), 5, d);
            assert_eq!(rows.len(), 3);
            assert_eq!(rows[1].0[0], t("x,y").into_bytes());
            assert_eq!(rows, with_csv_crate_d(input.as_bytes(), d));
        }
    }

    #[test]
    fn lone_cr_rows_stream_without_growing_the_buffer() {
        let input = "a,b\r".repeat(100_000); // 400 KB of old-Mac rows, not one `\n`
        let mut r = RowReader::new(Trickle(input.as_bytes(), 4096), b',', usize::MAX);
        let mut n = 0;
        while r.advance().unwrap() {
            assert_eq!(r.row().cells().collect::<Vec<_>>(), [b"a", b"b"]);
            n += 1;
        }
        assert_eq!(n, 100_000);
        assert_eq!(r.buf.len(), BUF_SIZE);
    }

    #[test]
    fn a_quoted_row_larger_than_the_scratch_buffers_grows_them() {
        // 3000-byte quoted cell and 150 cells: past the initial 1024 bytes and 64 cell ends
        let big = format!("\"{}\"\"{}\"", "q".repeat(1500), "w".repeat(1500));
        let many = vec!["c"; 149].join(",");
        let input = format!("{big},{many}\nplain,row\n\"x\",{many}\n");
        let rows = with_rows(input.as_bytes(), 7);
        assert_eq!(rows, with_csv_crate(input.as_bytes()));
        assert_eq!(rows[0].0.len(), 150);
        assert_eq!(rows[0].0[0].len(), 3001);
        assert_eq!(rows[2].1, 3);
    }

    proptest! {
        /// Any mix of plain, quoted, CR/LF/CRLF-terminated and blank rows splits as the `csv`
        /// crate splits it, with the same line numbers, whatever the read sizes.
        #[test]
        fn splits_like_the_csv_crate(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("a".to_string()), Just("bc".to_string()), Just(",".to_string()),
                    Just("\n".to_string()), Just("\r\n".to_string()), Just("\r".to_string()),
                    Just("\"".to_string()), Just("\"x,\ny\"".to_string()), Just("\"\"".to_string()),
                    Just(" ".to_string()), Just("é".to_string()), Just("\u{feff}".to_string()),
                ],
                0..40,
            ),
            chunk in 1usize..9,
        ) {
            let input = parts.concat();
            let want = with_csv_crate(input.as_bytes());
            let mut r = RowReader::new(Trickle(input.as_bytes(), chunk), b',', usize::MAX);
            let mut got = Vec::new();
            loop {
                match r.advance() {
                    Ok(true) => {
                        let row = r.row();
                        got.push((row.cells().map(<[u8]>::to_vec).collect::<Vec<_>>(), row.line));
                    }
                    Ok(false) => {
                        prop_assert_eq!(&got, &want);
                        break;
                    }
                    Err(e) => {
                        // where the csv crate reads an unclosed quote to the end of the input
                        // as one field, rill stops with an error naming the row's line
                        prop_assert!(e.to_string().contains("is not closed before the end of the file"), "{}", e);
                        prop_assert_eq!(&got[..], &want[..got.len()]);
                        prop_assert_eq!(got.len() + 1, want.len());
                        break;
                    }
                }
            }
        }
    }
}
