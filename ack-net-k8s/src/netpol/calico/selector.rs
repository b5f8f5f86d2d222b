//! Calico's selector expression language (`app == 'web' && has(tier)`), parsed and matched.
//!
//! The grammar, as Calico documents it for `selector`, `namespaceSelector` and
//! `serviceAccountSelector` fields:
//!
//! | expression | matches |
//! |---|---|
//! | `all()` | everything in scope (`!all()` matches nothing) |
//! | `global()` | resources outside any namespace (in a `namespaceSelector`) |
//! | `k == 'v'` | objects with label `k` equal to `v` |
//! | `k != 'v'` | objects without label `k`, or with another value |
//! | `has(k)` | objects with label `k` |
//! | `k in {'a', 'b'}` | objects with label `k` equal to one of the values |
//! | `k not in {'a', 'b'}` | objects without label `k`, or with a value not in the set |
//! | `k contains 's'`, `k starts with 's'`, `k ends with 's'` | objects whose label `k` has that substring, prefix or suffix |
//! | `!e`, `e && f`, `e \|\| f`, `(e)` | negation, conjunction, disjunction, grouping |
//!
//! `!` binds tighter than `&&`, which binds tighter than `||`. Strings are in single or double
//! quotes. An empty (or all-blank) selector is `all()`.

use std::fmt;

use super::super::selector::Labels;

/// A parsed Calico selector expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalicoSelector {
    source: String,
    expr: Expr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expr {
    All,
    Global,
    Has(String),
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Contains(String, String),
    StartsWith(String, String),
    EndsWith(String, String),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// Why a selector expression does not parse: the byte offset and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorSyntaxError {
    /// Byte offset in the expression where parsing failed.
    pub offset: usize,
    /// What was expected or found.
    pub reason: String,
}

impl fmt::Display for SelectorSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at offset {}: {}", self.offset, self.reason)
    }
}

impl CalicoSelector {
    /// Parses a selector expression.
    ///
    /// ```
    /// # use ack_net_k8s::netpol::calico::CalicoSelector;
    /// let s = CalicoSelector::parse("app == 'web' && has(tier) && env not in {'dev'}").unwrap();
    /// let labels = [("app", "web"), ("tier", "front")].into_iter().map(|(k, v)| (k.into(), v.into())).collect();
    /// assert!(s.matches(&labels));
    /// assert!(CalicoSelector::parse("app = 'web'").is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// A [`SelectorSyntaxError`] with the offset of the first token that does not fit.
    pub fn parse(source: &str) -> Result<Self, SelectorSyntaxError> {
        let mut p = Parser { src: source, pos: 0 };
        p.skip_ws();
        let expr = if p.at_end() {
            Expr::All
        } else {
            let e = p.or()?;
            p.skip_ws();
            if !p.at_end() {
                return Err(p.error("expected `&&`, `||` or the end of the selector"));
            }
            e
        };
        Ok(CalicoSelector { source: source.to_owned(), expr })
    }

    /// The selector `all()`.
    pub fn all() -> Self {
        CalicoSelector { source: "all()".into(), expr: Expr::All }
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether an object with `labels` (inside a namespace) matches.
    pub fn matches(&self, labels: &Labels) -> bool {
        eval(&self.expr, labels)
    }
}

impl fmt::Display for CalicoSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Evaluates against the labels of a pod or namespace: `global()`, which selects resources
/// outside any namespace (host endpoints, global network sets), never matches them.
fn eval(e: &Expr, labels: &Labels) -> bool {
    let value = |k: &String| labels.get(k);
    match e {
        Expr::All => true,
        Expr::Global => false,
        Expr::Has(k) => labels.contains_key(k),
        Expr::Eq(k, v) => value(k) == Some(v),
        Expr::Ne(k, v) => value(k) != Some(v),
        Expr::In(k, vs) => value(k).is_some_and(|x| vs.contains(x)),
        Expr::NotIn(k, vs) => value(k).is_none_or(|x| !vs.contains(x)),
        Expr::Contains(k, s) => value(k).is_some_and(|x| x.contains(s.as_str())),
        Expr::StartsWith(k, s) => value(k).is_some_and(|x| x.starts_with(s.as_str())),
        Expr::EndsWith(k, s) => value(k).is_some_and(|x| x.ends_with(s.as_str())),
        Expr::Not(e) => !eval(e, labels),
        Expr::And(a, b) => eval(a, labels) && eval(b, labels),
        Expr::Or(a, b) => eval(a, labels) || eval(b, labels),
    }
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.src.len() - trimmed.len();
    }

    fn error(&self, reason: impl Into<String>) -> SelectorSyntaxError {
        SelectorSyntaxError { offset: self.pos, reason: reason.into() }
    }

    /// Consumes `token` (after blanks) if it is next.
    fn eat(&mut self, token: &str) -> bool {
        self.skip_ws();
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    /// Consumes a word operator (`in`, `not`, `contains`, ...) only when a non-key character follows.
    fn eat_word(&mut self, word: &str) -> bool {
        self.skip_ws();
        let rest = self.rest();
        if rest.starts_with(word) && !rest[word.len()..].starts_with(is_key_char) {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    /// Consumes a two-word operator (`not in`, `starts with`): `false` if `first` is not next,
    /// an error if `first` is not followed by `second`.
    fn eat_words(&mut self, first: &str, second: &str) -> Result<bool, SelectorSyntaxError> {
        if !self.eat_word(first) {
            return Ok(false);
        }
        if !self.eat_word(second) {
            return Err(self.error(format!("expected `{second}` after `{first}`")));
        }
        Ok(true)
    }

    fn expect(&mut self, token: &str) -> Result<(), SelectorSyntaxError> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(self.error(format!("expected `{token}`")))
        }
    }

    fn or(&mut self) -> Result<Expr, SelectorSyntaxError> {
        let mut left = self.and()?;
        while self.eat("||") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, SelectorSyntaxError> {
        let mut left = self.unary()?;
        while self.eat("&&") {
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, SelectorSyntaxError> {
        // `!` but not `!=` (which cannot start an expression anyway).
        if self.eat("!") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat("(") {
            let e = self.or()?;
            self.expect(")")?;
            return Ok(e);
        }
        self.skip_ws();
        let start = self.pos;
        let key = self.key()?;
        match key.as_str() {
            "all" | "global" | "has" if self.eat("(") => {
                let e = match key.as_str() {
                    "all" => Expr::All,
                    "global" => Expr::Global,
                    _ => {
                        self.skip_ws();
                        Expr::Has(self.key()?)
                    }
                };
                self.expect(")")?;
                return Ok(e);
            }
            _ => {}
        }
        if self.eat("==") {
            return Ok(Expr::Eq(key, self.string()?));
        }
        if self.eat("!=") {
            return Ok(Expr::Ne(key, self.string()?));
        }
        if self.eat_word("in") {
            return Ok(Expr::In(key, self.set()?));
        }
        if self.eat_words("not", "in")? {
            return Ok(Expr::NotIn(key, self.set()?));
        }
        if self.eat_word("contains") {
            return Ok(Expr::Contains(key, self.string()?));
        }
        if self.eat_words("starts", "with")? {
            return Ok(Expr::StartsWith(key, self.string()?));
        }
        if self.eat_words("ends", "with")? {
            return Ok(Expr::EndsWith(key, self.string()?));
        }
        self.skip_ws();
        if self.at_end() {
            Err(self.error(format!("label `{key}` (at offset {start}) needs an operator: `==`, `!=`, `in`, `not in`, `contains`, `starts with` or `ends with`")))
        } else {
            Err(self.error("expected `==`, `!=`, `in`, `not in`, `contains`, `starts with` or `ends with`"))
        }
    }

    fn key(&mut self) -> Result<String, SelectorSyntaxError> {
        let rest = self.rest();
        let len = rest.find(|c: char| !is_key_char(c)).unwrap_or(rest.len());
        if len == 0 {
            return Err(self.error("expected a label key, `all()`, `has(...)`, `!` or `(`"));
        }
        let key = rest[..len].to_owned();
        self.pos += len;
        Ok(key)
    }

    fn string(&mut self) -> Result<String, SelectorSyntaxError> {
        self.skip_ws();
        let quote = match self.rest().chars().next() {
            Some(q @ ('\'' | '"')) => q,
            _ => return Err(self.error("expected a quoted string")),
        };
        let body = &self.rest()[1..];
        let end = body.find(quote).ok_or_else(|| self.error("unterminated string"))?;
        let value = body[..end].to_owned();
        self.pos += end + 2;
        Ok(value)
    }

    fn set(&mut self) -> Result<Vec<String>, SelectorSyntaxError> {
        self.expect("{")?;
        let mut values = Vec::new();
        if self.eat("}") {
            return Ok(values);
        }
        loop {
            values.push(self.string()?);
            if self.eat("}") {
                return Ok(values);
            }
            self.expect(",")?;
        }
    }
}

/// Characters of a label key: `[A-Za-z0-9_./-]` (a DNS prefix, `/`, and the name).
fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn m(sel: &str, pairs: &[(&str, &str)]) -> bool {
        CalicoSelector::parse(sel).unwrap_or_else(|e| panic!("{sel}: {e}")).matches(&labels(pairs))
    }

    #[test]
    fn every_operator_of_the_documented_grammar() {
        let web = [("app", "web"), ("tier", "frontend"), ("projectcalico.org/namespace", "shop")];
        assert!(m("", &web));
        assert!(m("  ", &web));
        assert!(m("all()", &[]));
        assert!(!m("!all()", &web));
        assert!(m("app == 'web'", &web));
        assert!(m("app == \"web\"", &web));
        assert!(!m("app == 'db'", &web));
        assert!(m("app != 'db'", &web));
        assert!(m("role != 'db'", &web), "!= matches objects without the label");
        assert!(m("has(tier)", &web));
        assert!(m("has( tier )", &web));
        assert!(!m("has(role)", &web));
        assert!(m("!has(role)", &web));
        assert!(m("app in {'web', 'api'}", &web));
        assert!(!m("app in {}", &web));
        assert!(!m("app not in {'web'}", &web));
        assert!(m("role not in {'web'}", &web), "not in matches objects without the label");
        assert!(m("tier contains 'ont'", &web));
        assert!(m("tier starts with 'front'", &web));
        assert!(m("tier ends with 'end'", &web));
        assert!(!m("role contains ''", &web), "string operators need the label");
        assert!(m("projectcalico.org/namespace == 'shop'", &web));
        assert!(!m("global()", &web));
        assert!(m("!global()", &web));
    }

    #[test]
    fn precedence_and_grouping() {
        let web = [("app", "web")];
        // `!` > `&&` > `||`.
        assert!(m("app == 'web' || has(x) && has(y)", &web));
        assert!(!m("(app == 'web' || has(x)) && has(y)", &web));
        assert!(!m("!app == 'web' || has(y)", &web));
        assert!(m("!(has(x) && has(y))", &web));
        assert!(m("!!has(app)", &web));
        assert!(m("has(app)&&app=='web'", &web), "blanks are optional");
        assert!(m("app in{'web'}", &web));
    }

    #[test]
    fn syntax_errors_say_where() {
        for (sel, offset) in [
            ("app = 'web'", 4),
            ("app == web", 7),
            ("app == 'web", 7),
            ("has(app", 7),
            ("app == 'web' &&", 15),
            ("(app == 'web'", 13),
            ("app in {'a' 'b'}", 12),
            ("app not {'a'}", 8),
            ("app == 'web' foo", 13),
            ("app", 3),
            ("== 'x'", 0),
            ("app starts 'x'", 11),
        ] {
            let err = CalicoSelector::parse(sel).expect_err(sel);
            assert_eq!(err.offset, offset, "{sel}: {err}");
        }
    }

    #[test]
    fn word_operators_need_a_boundary() {
        // `index` is a label key, not `in` + `dex`.
        assert!(CalicoSelector::parse("app index").is_err());
        assert!(m("inside in {'x'}", &[("inside", "x")]));
    }
}
