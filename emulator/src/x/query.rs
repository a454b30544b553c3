//! The recent-search query language, as much of it as connectors use: terms, `"phrases"`,
//! `@handle`, `from:`, `to:`, `lang:`, `is:retweet`, `is:reply`, `conversation_id:`,
//! negation with `-`, `OR`, parentheses; AND (a space) binds tighter than OR.

use std::collections::BTreeMap;

use super::{Tweet, User};

#[derive(Debug, PartialEq)]
pub(crate) enum Node {
    Or(Vec<Node>),
    And(Vec<Node>),
    Not(Box<Node>),
    Word(String),
    Mention(String),
    From(String),
    To(String),
    Lang(String),
    Conversation(String),
    IsRetweet,
    IsReply,
}

#[derive(Debug, PartialEq)]
enum Tok {
    Open,
    Close,
    Or,
    Minus,
    Term(String, bool),
}

fn tokens(q: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = q.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Tok::Open);
            }
            ')' => {
                chars.next();
                out.push(Tok::Close);
            }
            '-' => {
                chars.next();
                out.push(Tok::Minus);
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some(c) => s.push(c),
                        None => return Err("unterminated quoted phrase".into()),
                    }
                }
                out.push(Tok::Term(s, true));
            }
            _ => {
                let mut s = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '"' {
                        break;
                    }
                    s.push(c);
                    chars.next();
                }
                if s == "OR" {
                    out.push(Tok::Or);
                } else {
                    out.push(Tok::Term(s, false));
                }
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn or(&mut self) -> Result<Node, String> {
        let mut parts = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Node::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Node, String> {
        let mut parts = Vec::new();
        while !matches!(self.peek(), None | Some(Tok::Close) | Some(Tok::Or)) {
            parts.push(self.unary()?);
        }
        match parts.len() {
            0 => Err("a query clause is empty".into()),
            1 => Ok(parts.remove(0)),
            _ => Ok(Node::And(parts)),
        }
    }

    fn unary(&mut self) -> Result<Node, String> {
        if self.peek() == Some(&Tok::Minus) {
            self.pos += 1;
            return Ok(Node::Not(Box::new(self.atom()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Node, String> {
        let tok = self.toks.get(self.pos).ok_or("the query ends too early")?;
        self.pos += 1;
        match tok {
            Tok::Open => {
                let inner = self.or()?;
                if self.peek() != Some(&Tok::Close) {
                    return Err("unbalanced parentheses".into());
                }
                self.pos += 1;
                Ok(inner)
            }
            Tok::Term(s, true) => Ok(Node::Word(s.to_lowercase())),
            Tok::Term(s, false) => term(s),
            Tok::Close => Err("unbalanced parentheses".into()),
            Tok::Or => Err("OR needs a clause on each side".into()),
            Tok::Minus => Err("a lone `-`".into()),
        }
    }
}

fn term(s: &str) -> Result<Node, String> {
    let lower = s.to_lowercase();
    if let Some(h) = lower.strip_prefix('@') {
        return Ok(Node::Mention(h.to_string()));
    }
    if let Some((op, value)) = lower.split_once(':') {
        return Ok(match (op, value) {
            ("from", v) => Node::From(v.trim_start_matches('@').to_string()),
            ("to", v) => Node::To(v.trim_start_matches('@').to_string()),
            ("lang", v) => Node::Lang(v.to_string()),
            ("conversation_id", v) => Node::Conversation(v.to_string()),
            ("is", "retweet") => Node::IsRetweet,
            ("is", "reply") => Node::IsReply,
            _ => return Err(format!("Reference to invalid operator '{op}:{value}'")),
        });
    }
    Ok(Node::Word(lower))
}

/// Parses a query.
pub(crate) fn parse(q: &str) -> Result<Node, String> {
    let mut parser = Parser {
        toks: tokens(q)?,
        pos: 0,
    };
    let node = parser.or()?;
    if parser.pos != parser.toks.len() {
        return Err("unbalanced parentheses".into());
    }
    if matches!(node, Node::Not(_)) {
        return Err("a query cannot only exclude".into());
    }
    Ok(node)
}

/// True when `tweet` matches `node`.
pub(crate) fn matches(node: &Node, tweet: &Tweet, users: &BTreeMap<String, User>) -> bool {
    let username = |id: &str| users.get(id).map(|u| u.username.to_lowercase());
    match node {
        Node::Or(parts) => parts.iter().any(|p| matches(p, tweet, users)),
        Node::And(parts) => parts.iter().all(|p| matches(p, tweet, users)),
        Node::Not(inner) => !matches(inner, tweet, users),
        Node::Word(w) => tweet.text.to_lowercase().contains(w.as_str()),
        Node::Mention(h) => {
            tweet.text.to_lowercase().contains(&format!("@{h}"))
                || tweet
                    .in_reply_to_user_id
                    .as_deref()
                    .and_then(username)
                    .is_some_and(|u| u == *h)
        }
        Node::From(h) => username(&tweet.author_id).is_some_and(|u| u == *h),
        Node::To(h) => tweet
            .in_reply_to_user_id
            .as_deref()
            .and_then(username)
            .is_some_and(|u| u == *h),
        Node::Lang(l) => tweet.lang.eq_ignore_ascii_case(l),
        Node::Conversation(c) => tweet.conversation_id == *c,
        Node::IsRetweet => tweet.retweet_of.is_some(),
        Node::IsReply => tweet.in_reply_to_tweet_id.is_some(),
    }
}
