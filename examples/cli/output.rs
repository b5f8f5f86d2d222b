//! What the CLI prints: aligned tables on stdout, progress on stderr, and the page loops
//! that report each page as it arrives.

use std::fmt::Display;

use serde_json::Value;
use std::future::Future;

use ack_net_core::{CallEvent, CallObserver, CallOutcome};

/// A result `plan`, `apply` and `delete` print: as text (a table, a diff) or as JSON.
pub trait Shown {
    /// As text.
    fn render(&self) -> String;
    /// As JSON.
    fn to_json(&self) -> Value;
}

/// A table printed with its columns aligned: two spaces between columns, no trailing blanks.
#[derive(Debug)]
pub struct Table {
    headers: Vec<&'static str>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers, every column left-aligned.
    pub fn new(headers: &[&'static str]) -> Self {
        Self { headers: headers.to_vec(), right: vec![false; headers.len()], rows: Vec::new() }
    }

    /// Right-aligns the columns with these indexes (numbers read better that way).
    pub fn right_align(mut self, columns: &[usize]) -> Self {
        for &c in columns {
            if let Some(r) = self.right.get_mut(c) {
                *r = true;
            }
        }
        self
    }

    /// Adds a row; missing cells print empty, extra cells are dropped.
    pub fn row(&mut self, mut cells: Vec<String>) {
        cells.resize(self.headers.len(), String::new());
        self.rows.push(cells);
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The header line and the rows, each line ending in a newline.
    pub fn render(&self) -> String {
        let width = |s: &str| s.chars().count();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(width(cell));
            }
        }
        let mut out = String::new();
        let header: Vec<String> = self.headers.iter().map(|h| (*h).to_owned()).collect();
        for line in std::iter::once(&header).chain(&self.rows) {
            let mut text = String::new();
            for (i, cell) in line.iter().enumerate() {
                if i > 0 {
                    text.push_str("  ");
                }
                let pad = " ".repeat(widths[i] - width(cell));
                if self.right[i] {
                    text.push_str(&pad);
                    text.push_str(cell);
                } else {
                    text.push_str(cell);
                    text.push_str(&pad);
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `-` for a missing value, so that columns never look shifted.
pub fn or_dash<T: Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// Progress lines on stderr (stdout stays clean for tables and JSON), one per phase of
/// waiting on the cloud: printed when stderr is a terminal or with `--progress`, never with
/// `--quiet`.
#[derive(Clone, Debug)]
pub struct Progress {
    quiet: bool,
}

impl Progress {
    /// Progress that prints unless `quiet`.
    pub fn new(quiet: bool) -> Self {
        Self { quiet }
    }

    /// Progress for the command line: on when `forced` (`--progress`) or when stderr is a
    /// terminal, off when `quiet` (`--quiet`) whatever else.
    pub fn for_stderr(forced: bool, quiet: bool) -> Self {
        Self::new(quiet || !(forced || std::io::IsTerminal::is_terminal(&std::io::stderr())))
    }

    /// Prints one line.
    pub fn say(&self, line: impl Display) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }

    /// Reports one page of a listing: `  page 2: 50 VSwitches (100 of 130)`.
    pub fn page(&self, what: &str, page: u32, on_page: usize, so_far: usize, total: Option<u64>) {
        match total {
            Some(t) => self.say(format_args!("  page {page}: {on_page} {what} ({so_far} of {t})")),
            None => self.say(format_args!("  page {page}: {on_page} {what} ({so_far} so far)")),
        }
    }
}

/// A call observer that says on stderr when an attempt failed and the client retries, so a
/// throttled or slow cloud does not look like a hung command.
#[derive(Debug)]
pub struct RetryNotice {
    /// Print nothing.
    pub quiet: bool,
}

impl CallObserver for RetryNotice {
    fn on_attempt(&self, e: &CallEvent<'_>) {
        if let (false, false, CallOutcome::Error(class)) = (self.quiet, e.is_final, e.outcome) {
            eprintln!("  {} attempt {} failed ({class:?}) after {:.0?}; retrying", e.action, e.attempt, e.latency);
        }
    }
}

/// Every item of a listing paged by `PageNumber`, reporting each page: `fetch(n)` answers page
/// `n`'s items and the total count when the API gives it.
pub async fn numbered_pages<T, E, F, Fut>(
    progress: &Progress,
    what: &str,
    page_size: u32,
    mut fetch: F,
) -> Result<Vec<T>, E>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<u64>), E>>,
{
    let mut all = Vec::new();
    let mut page = 1;
    loop {
        let (items, total) = fetch(page).await?;
        let on_page = items.len();
        all.extend(items);
        progress.page(what, page, on_page, all.len(), total);
        let last = on_page < page_size as usize || total.is_some_and(|t| all.len() as u64 >= t);
        if last {
            return Ok(all);
        }
        page += 1;
    }
}

/// Every item of a listing paged by `NextToken`, reporting each page: `fetch(token)` answers
/// the page's items, the next token (`None` or empty at the end) and the total when given.
pub async fn token_pages<T, E, F, Fut>(progress: &Progress, what: &str, mut fetch: F) -> Result<Vec<T>, E>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>, Option<u64>), E>>,
{
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    for page in 1.. {
        let (items, next, total) = fetch(token.clone()).await?;
        let on_page = items.len();
        all.extend(items);
        progress.page(what, page, on_page, all.len(), total);
        // A token that repeats would loop forever: treat it as the end.
        match next.filter(|t| !t.is_empty() && Some(t) != token.as_ref()) {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_and_trim_trailing_blanks() {
        let mut t = Table::new(&["ID", "FREE", "NAME"]).right_align(&[1]);
        t.row(vec!["vsw-1".into(), "251".into(), "a".into()]);
        t.row(vec!["vsw-22".into(), "4".into(), String::new()]);
        assert_eq!(t.render(), "ID      FREE  NAME\nvsw-1    251  a\nvsw-22     4\n");
    }

    #[test]
    fn rows_are_padded_to_the_headers_and_width_counts_characters() {
        let mut t = Table::new(&["A", "B"]);
        t.row(vec!["é".into()]);
        t.row(vec!["x".into(), "y".into(), "dropped".into()]);
        assert_eq!(t.render(), "A  B\né\nx  y\n");
        assert!(!t.is_empty());
        assert_eq!(or_dash(None::<u8>), "-");
        assert_eq!(or_dash(Some(3)), "3");
    }

    #[test]
    fn progress_is_forced_on_and_quiet_wins() {
        assert!(!Progress::for_stderr(true, false).quiet);
        assert!(Progress::for_stderr(true, true).quiet);
        assert!(Progress::for_stderr(false, true).quiet);
    }

    #[tokio::test]
    async fn numbered_pages_stop_at_the_total_or_a_short_page() {
        let progress = Progress::new(true);
        let data: Vec<u32> = (0..7).collect();
        let mut calls = 0;
        let all = numbered_pages(&progress, "things", 3, |page| {
            calls += 1;
            let start = (page as usize - 1) * 3;
            let items = data[start.min(7)..(start + 3).min(7)].to_vec();
            async move { Ok::<_, ()>((items, Some(7))) }
        })
        .await
        .unwrap();
        assert_eq!(all, data);
        assert_eq!(calls, 3);
        // Without a total, a full last page needs one more (empty) call to know it is last.
        let mut calls = 0;
        let all = numbered_pages(&progress, "things", 3, |page| {
            calls += 1;
            let items = if page <= 2 { vec![page; 3] } else { Vec::new() };
            async move { Ok::<_, ()>((items, None)) }
        })
        .await
        .unwrap();
        assert_eq!((all.len(), calls), (6, 3));
    }

    #[tokio::test]
    async fn token_pages_follow_tokens_and_stop_on_a_repeat() {
        let progress = Progress::new(true);
        let all = token_pages(&progress, "things", |token| async move {
            Ok::<_, ()>(match token.as_deref() {
                None => (vec![1, 2], Some("t2".to_owned()), None),
                Some("t2") => (vec![3], Some(String::new()), None),
                Some(_) => panic!("asked past the end"),
            })
        })
        .await
        .unwrap();
        assert_eq!(all, vec![1, 2, 3]);
        let mut calls = 0;
        let all = token_pages(&progress, "things", |_| {
            calls += 1;
            async { Ok::<_, ()>((vec![0], Some("same".to_owned()), Some(1))) }
        })
        .await
        .unwrap();
        assert_eq!((all.len(), calls), (2, 2));
    }
}
