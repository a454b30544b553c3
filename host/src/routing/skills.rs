//! Skills: what an agent knows (skill -> proficiency 0-100) and what an interaction needs,
//! written as an expression such as `english >= 3 and (billing or refunds) and not spanish`.
//!
//! A bare skill name means "has it at any level above 0". Comparisons use `>=`, `>`,
//! `<=`, `<`, `=`/`==` and `!=` against whole numbers. `and` binds tighter than `or`.

use std::collections::HashMap;
use std::fmt;

/// An agent's skills: name (lower case) -> proficiency.
pub type Skills = HashMap<String, u32>;

/// A parsed skill requirement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkillExpr {
    /// Has the skill at all.
    Has(String),
    /// Compares the proficiency.
    Cmp(String, Op, u32),
    /// Both.
    And(Box<SkillExpr>, Box<SkillExpr>),
    /// Either.
    Or(Box<SkillExpr>, Box<SkillExpr>),
    /// Not.
    Not(Box<SkillExpr>),
}

/// A comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `>=`
    Ge,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `<`
    Lt,
    /// `=` or `==`
    Eq,
    /// `!=`
    Ne,
}

impl SkillExpr {
    /// The skill names it mentions.
    pub fn names(&self) -> Vec<&str> {
        match self {
            SkillExpr::Has(name) | SkillExpr::Cmp(name, _, _) => vec![name.as_str()],
            SkillExpr::And(a, b) | SkillExpr::Or(a, b) => {
                let mut names = a.names();
                names.extend(b.names());
                names
            }
            SkillExpr::Not(a) => a.names(),
        }
    }

    /// Parses an expression; the error says what was expected and where.
    pub fn parse(text: &str) -> Result<SkillExpr, String> {
        let tokens = tokenize(text)?;
        let mut parser = Parser { tokens, pos: 0 };
        let expr = parser.or()?;
        match parser.tokens.get(parser.pos) {
            None => Ok(expr),
            Some(t) => Err(format!("skill expression `{text}`: unexpected `{t}`")),
        }
    }

    /// Whether `skills` satisfy the expression.
    pub fn matches(&self, skills: &Skills) -> bool {
        match self {
            SkillExpr::Has(name) => skills.get(name).is_some_and(|l| *l > 0),
            SkillExpr::Cmp(name, op, want) => {
                let level = skills.get(name).copied().unwrap_or(0);
                match op {
                    Op::Ge => level >= *want,
                    Op::Gt => level > *want,
                    Op::Le => level <= *want,
                    Op::Lt => level < *want,
                    Op::Eq => level == *want,
                    Op::Ne => level != *want,
                }
            }
            SkillExpr::And(a, b) => a.matches(skills) && b.matches(skills),
            SkillExpr::Or(a, b) => a.matches(skills) || b.matches(skills),
            SkillExpr::Not(a) => !a.matches(skills),
        }
    }

    /// How well `skills` fit: the sum of the agent's levels in the skills the expression
    /// names positively. Among agents who match, the higher score is offered first.
    pub fn score(&self, skills: &Skills) -> u32 {
        match self {
            SkillExpr::Has(name) | SkillExpr::Cmp(name, _, _) => {
                skills.get(name).copied().unwrap_or(0)
            }
            SkillExpr::And(a, b) | SkillExpr::Or(a, b) => a.score(skills) + b.score(skills),
            SkillExpr::Not(_) => 0,
        }
    }
}

impl fmt::Display for SkillExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkillExpr::Has(n) => write!(f, "{n}"),
            SkillExpr::Cmp(n, op, v) => {
                let op = match op {
                    Op::Ge => ">=",
                    Op::Gt => ">",
                    Op::Le => "<=",
                    Op::Lt => "<",
                    Op::Eq => "=",
                    Op::Ne => "!=",
                };
                write!(f, "{n} {op} {v}")
            }
            SkillExpr::And(a, b) => write!(f, "({a} and {b})"),
            SkillExpr::Or(a, b) => write!(f, "({a} or {b})"),
            SkillExpr::Not(a) => write!(f, "not {a}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Name(String),
    Num(u32),
    Op(Op),
    And,
    Or,
    Not,
    Open,
    Close,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Name(n) => write!(f, "{n}"),
            Token::Num(n) => write!(f, "{n}"),
            Token::Op(_) => write!(f, "comparison"),
            Token::And => write!(f, "and"),
            Token::Or => write!(f, "or"),
            Token::Not => write!(f, "not"),
            Token::Open => write!(f, "("),
            Token::Close => write!(f, ")"),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' || c == ')' {
            tokens.push(if c == '(' { Token::Open } else { Token::Close });
            i += 1;
        } else if "<>=!".contains(c) {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let (op, len) = match two.as_str() {
                ">=" => (Op::Ge, 2),
                "<=" => (Op::Le, 2),
                "==" => (Op::Eq, 2),
                "!=" => (Op::Ne, 2),
                _ if c == '>' => (Op::Gt, 1),
                _ if c == '<' => (Op::Lt, 1),
                _ if c == '=' => (Op::Eq, 1),
                _ => return Err(format!("skill expression `{text}`: `!` must be `!=`")),
            };
            tokens.push(Token::Op(op));
            i += len;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            tokens.push(Token::Num(s.parse().map_err(|_| {
                format!("skill expression `{text}`: number `{s}` too large")
            })?));
        } else if c.is_alphanumeric() || c == '_' || c == '-' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '-')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect::<String>().to_lowercase();
            tokens.push(match word.as_str() {
                "and" => Token::And,
                "or" => Token::Or,
                "not" => Token::Not,
                _ => Token::Name(word),
            });
        } else {
            return Err(format!(
                "skill expression `{text}`: unexpected character `{c}`"
            ));
        }
    }
    if tokens.is_empty() {
        return Err("skill expression is empty".into());
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn or(&mut self) -> Result<SkillExpr, String> {
        let mut left = self.and()?;
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            left = SkillExpr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<SkillExpr, String> {
        let mut left = self.unary()?;
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            left = SkillExpr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<SkillExpr, String> {
        match self.next() {
            Some(Token::Not) => Ok(SkillExpr::Not(Box::new(self.unary()?))),
            Some(Token::Open) => {
                let inner = self.or()?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err("skill expression: missing `)`".into()),
                }
            }
            Some(Token::Name(name)) => match self.peek() {
                Some(Token::Op(op)) => {
                    let op = *op;
                    self.pos += 1;
                    match self.next() {
                        Some(Token::Num(n)) => Ok(SkillExpr::Cmp(name, op, n)),
                        _ => Err(format!(
                            "skill expression: `{name}` must be compared with a number"
                        )),
                    }
                }
                _ => Ok(SkillExpr::Has(name)),
            },
            Some(t) => Err(format!(
                "skill expression: expected a skill name, found `{t}`"
            )),
            None => Err("skill expression: ends too early".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skills(list: &[(&str, u32)]) -> Skills {
        list.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn parses_and_evaluates_the_documented_example() {
        let e = SkillExpr::parse("english >= 3 and billing").unwrap();
        assert!(e.matches(&skills(&[("english", 3), ("billing", 1)])));
        assert!(!e.matches(&skills(&[("english", 2), ("billing", 5)])));
        assert!(!e.matches(&skills(&[("english", 5)])));
        assert_eq!(e.score(&skills(&[("english", 4), ("billing", 2)])), 6);
    }

    #[test]
    fn precedence_parentheses_and_not() {
        let e = SkillExpr::parse("a or b and c").unwrap();
        assert!(e.matches(&skills(&[("a", 1)])));
        assert!(!e.matches(&skills(&[("b", 1)])));
        let e = SkillExpr::parse("(a or b) and not Spanish").unwrap();
        assert!(e.matches(&skills(&[("b", 1)])));
        assert!(!e.matches(&skills(&[("b", 1), ("spanish", 2)])));
        let e = SkillExpr::parse("vip != 0 and level < 5").unwrap();
        assert!(e.matches(&skills(&[("vip", 1), ("level", 4)])));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(SkillExpr::parse("").unwrap_err().contains("empty"));
        assert!(
            SkillExpr::parse("english >=")
                .unwrap_err()
                .contains("number")
        );
        assert!(SkillExpr::parse("(a or b").unwrap_err().contains(")"));
        assert!(SkillExpr::parse("a b").unwrap_err().contains("unexpected"));
        assert!(SkillExpr::parse("a & b").unwrap_err().contains("&"));
    }
}
