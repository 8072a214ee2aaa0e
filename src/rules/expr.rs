//! Arithmetic and boolean expressions as SpamAssassin evaluates them in `meta` rules and in
//! `if` conditions: Perl semantics, so `&&`/`||` yield an operand's value, `!` yields 1 or 0,
//! and a rule name stands for its hit count (0 when it did not hit).

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    /// A rule name, or any other bare word (the caller decides what it means).
    Name(String),
    /// A name the caller resolved to a slot of its own (`resolve`), so evaluating does no lookup;
    /// the name is kept for `names`.
    Slot(usize, String),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
}

/// A `resolve`d expression as code for a stack machine: scoring evaluates every meta rule per
/// message, and walking boxed trees scattered over the heap was most of that time; the code of
/// all metas sits in one vector. Eight bytes an instruction (a number is an index into a table
/// of constants): a message's metas read ~1,000 expressions, mostly from RAM again after an idle
/// moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Code {
    /// The constant at this index of the constants table.
    Num(u32),
    Slot(u32),
    Not,
    Neg,
    /// `&&`: when the left value (on top) is 0 it is the result: jump to the given end.
    AndJump(u32),
    /// `||`: when the left value is not 0 it is the result: jump to the given end.
    OrJump(u32),
    Bin(Op),
}

const _: () = assert!(std::mem::size_of::<Code>() == 8);

/// Evaluates `Expr::compile`d code with Perl's semantics; `consts` is the table the code's
/// numbers index, `slot` gives each slot's value and `stack` is scratch space reused between
/// calls.
pub fn run(code: &[Code], consts: &[f64], slot: impl Fn(usize) -> f64, stack: &mut Vec<f64>) -> f64 {
    stack.clear();
    let mut pc = 0;
    while let Some(&c) = code.get(pc) {
        pc += 1;
        match c {
            Code::Num(n) => stack.push(consts[n as usize]),
            Code::Slot(i) => stack.push(slot(i as usize)),
            Code::Not => {
                let x = stack.pop().unwrap_or(0.0);
                stack.push(if x != 0.0 { 0.0 } else { 1.0 });
            }
            Code::Neg => {
                let x = stack.pop().unwrap_or(0.0);
                stack.push(-x);
            }
            Code::AndJump(end) | Code::OrJump(end) => {
                let x = stack.last().copied().unwrap_or(0.0);
                if (x == 0.0) == matches!(c, Code::AndJump(_)) {
                    pc = end as usize;
                } else {
                    stack.pop();
                }
            }
            Code::Bin(op) => {
                let y = stack.pop().unwrap_or(0.0);
                let x = stack.pop().unwrap_or(0.0);
                stack.push(apply(op, x, y));
            }
        }
    }
    stack.pop().unwrap_or(0.0)
}

/// A binary operator other than `&&`/`||` (which do not evaluate their right side always).
fn apply(op: Op, x: f64, y: f64) -> f64 {
    let t = |c: bool| if c { 1.0 } else { 0.0 };
    match op {
        Op::Eq => t(x == y),
        Op::Ne => t(x != y),
        Op::Lt => t(x < y),
        Op::Le => t(x <= y),
        Op::Gt => t(x > y),
        Op::Ge => t(x >= y),
        Op::Add => x + y,
        Op::Sub => x - y,
        Op::Mul => x * y,
        Op::Div => {
            if y == 0.0 {
                0.0
            } else {
                x / y
            }
        }
        Op::And | Op::Or => unreachable!("`run` and `eval_with` short-circuit these first"),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Word(String),
    Op(&'static str),
    Open,
    Close,
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    const OPS: [&str; 15] = ["&&", "||", "==", "!=", "<=", ">=", "<", ">", "!", "+", "-", "*", "/", "&", "|"];
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'(' {
            out.push(Tok::Open);
            i += 1;
            continue;
        }
        if c == b')' {
            out.push(Tok::Close);
            i += 1;
            continue;
        }
        if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            let start = i;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            let n: f64 = s[start..i].parse().map_err(|_| format!("bad number {}", &s[start..i]))?;
            out.push(Tok::Num(n));
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':') {
                i += 1;
            }
            out.push(Tok::Word(s[start..i].to_string()));
            continue;
        }
        match OPS.iter().find(|op| s[i..].starts_with(**op)) {
            Some(op) if *op == "&" || *op == "|" => return Err(format!("bitwise operator {op} is not allowed")),
            Some(op) => {
                out.push(Tok::Op(op));
                i += op.len();
            }
            None => return Err(format!("unexpected character {:?}", c as char)),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek_op(&self) -> Option<&'static str> {
        match self.toks.get(self.pos) {
            Some(Tok::Op(o)) => Some(o),
            _ => None,
        }
    }

    fn binary(&mut self, level: usize) -> Result<Expr, String> {
        const LEVELS: [&[(&str, Op)]; 6] = [
            &[("||", Op::Or)],
            &[("&&", Op::And)],
            &[("==", Op::Eq), ("!=", Op::Ne)],
            &[("<=", Op::Le), (">=", Op::Ge), ("<", Op::Lt), (">", Op::Gt)],
            &[("+", Op::Add), ("-", Op::Sub)],
            &[("*", Op::Mul), ("/", Op::Div)],
        ];
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut left = self.binary(level + 1)?;
        while let Some(op) = self.peek_op() {
            let Some((_, o)) = LEVELS[level].iter().find(|(s, _)| *s == op) else { break };
            self.pos += 1;
            let right = self.binary(level + 1)?;
            left = Expr::Bin(*o, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        match self.toks.get(self.pos).cloned() {
            Some(Tok::Op("!")) => {
                self.pos += 1;
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Some(Tok::Op("-")) => {
                self.pos += 1;
                Ok(Expr::Neg(Box::new(self.unary()?)))
            }
            Some(Tok::Op("+")) => {
                self.pos += 1;
                self.unary()
            }
            Some(Tok::Num(n)) => {
                self.pos += 1;
                Ok(Expr::Num(n))
            }
            Some(Tok::Word(w)) => {
                self.pos += 1;
                // plugin(X), can(X), has(X): a call with one bare argument
                if self.toks.get(self.pos) == Some(&Tok::Open) {
                    if let (Some(Tok::Word(arg)), Some(Tok::Close)) = (self.toks.get(self.pos + 1).cloned(), self.toks.get(self.pos + 2)) {
                        self.pos += 3;
                        return Ok(Expr::Name(format!("{w}({arg})")));
                    }
                }
                Ok(Expr::Name(w))
            }
            Some(Tok::Open) => {
                self.pos += 1;
                let e = self.binary(0)?;
                if self.toks.get(self.pos) != Some(&Tok::Close) {
                    return Err("missing closing parenthesis".into());
                }
                self.pos += 1;
                Ok(e)
            }
            Some(t) => Err(format!("unexpected token {t:?}")),
            None => Err("expression ends early".into()),
        }
    }
}

/// Parses an expression; errors name what was wrong.
pub fn parse(s: &str) -> Result<Expr, String> {
    let toks = lex(s)?;
    if toks.is_empty() {
        return Err("empty expression".into());
    }
    let mut p = Parser { toks, pos: 0 };
    let e = p.binary(0)?;
    if p.pos != p.toks.len() {
        return Err(format!("unexpected token {:?}", p.toks[p.pos]));
    }
    Ok(e)
}

impl Expr {
    /// Evaluates with Perl's semantics; `name` gives each bare word's value.
    pub fn eval(&self, name: &dyn Fn(&str) -> f64) -> f64 {
        self.eval_with(name, &|_| 0.0)
    }

    /// Evaluates a `resolve`d expression: `slot` gives each slot's value, an unresolved name is 0.
    /// Replaces each name `slot` knows with its slot; `eval_slots` counts the others as 0.
    pub fn resolve(&mut self, slot: &dyn Fn(&str) -> Option<usize>) {
        match self {
            Expr::Name(n) => {
                if let Some(i) = slot(n) {
                    *self = Expr::Slot(i, std::mem::take(n));
                }
            }
            Expr::Num(_) | Expr::Slot(..) => {}
            Expr::Not(e) | Expr::Neg(e) => e.resolve(slot),
            Expr::Bin(_, a, b) => {
                a.resolve(slot);
                b.resolve(slot);
            }
        }
    }

    fn eval_with(&self, name: &dyn Fn(&str) -> f64, slot: &dyn Fn(usize) -> f64) -> f64 {
        match self {
            Expr::Num(n) => *n,
            Expr::Name(n) => name(n),
            Expr::Slot(i, _) => slot(*i),
            Expr::Not(e) => {
                if e.eval_with(name, slot) != 0.0 {
                    0.0
                } else {
                    1.0
                }
            }
            Expr::Neg(e) => -e.eval_with(name, slot),
            Expr::Bin(op, a, b) => {
                let x = a.eval_with(name, slot);
                match op {
                    Op::And => {
                        if x == 0.0 {
                            x
                        } else {
                            b.eval_with(name, slot)
                        }
                    }
                    Op::Or => {
                        if x != 0.0 {
                            x
                        } else {
                            b.eval_with(name, slot)
                        }
                    }
                    _ => apply(*op, x, b.eval_with(name, slot)),
                }
            }
        }
    }

    /// Appends the expression as stack code (see `run`), its numbers to `consts` (shared by
    /// every expression run with it); jumps count from the code's start, so each expression is
    /// compiled into a fresh vector. An unresolved name is 0.
    pub fn compile(&self, code: &mut Vec<Code>, consts: &mut Vec<f64>) {
        let mut number = |n: f64| {
            let at = consts.iter().position(|c| c.to_bits() == n.to_bits()).unwrap_or_else(|| {
                consts.push(n);
                consts.len() - 1
            });
            Code::Num(at as u32)
        };
        match self {
            Expr::Num(n) => code.push(number(*n)),
            Expr::Name(_) => code.push(number(0.0)),
            Expr::Slot(i, _) => code.push(Code::Slot(*i as u32)),
            Expr::Not(e) => {
                e.compile(code, consts);
                code.push(Code::Not);
            }
            Expr::Neg(e) => {
                e.compile(code, consts);
                code.push(Code::Neg);
            }
            Expr::Bin(op @ (Op::And | Op::Or), a, b) => {
                a.compile(code, consts);
                let jump = code.len();
                code.push(Code::Not); // replaced below, once the end is known
                b.compile(code, consts);
                let end = code.len() as u32;
                code[jump] = if *op == Op::And { Code::AndJump(end) } else { Code::OrJump(end) };
            }
            Expr::Bin(op, a, b) => {
                a.compile(code, consts);
                b.compile(code, consts);
                code.push(Code::Bin(*op));
            }
        }
    }

    /// Every bare word the expression refers to.
    pub fn names(&self, out: &mut Vec<String>) {
        match self {
            Expr::Num(_) => {}
            Expr::Name(n) | Expr::Slot(_, n) => out.push(n.clone()),
            Expr::Not(e) | Expr::Neg(e) => e.names(out),
            Expr::Bin(_, a, b) => {
                a.names(out);
                b.names(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(s: &str, a: f64, b: f64) -> f64 {
        parse(s).unwrap().eval(&|n| match n {
            "A" => a,
            "B" => b,
            _ => 0.0,
        })
    }

    #[test]
    fn perl_semantics() {
        assert_eq!(ev("A && B", 1.0, 3.0), 3.0);
        assert_eq!(ev("A || B", 2.0, 3.0), 2.0);
        assert_eq!(ev("!A", 2.0, 0.0), 0.0);
        assert_eq!(ev("(A + B) > 2", 1.0, 2.0), 1.0);
        assert_eq!(ev("A + B * 2", 1.0, 2.0), 5.0);
        assert_eq!(ev("A - B - 1", 5.0, 2.0), 2.0);
        assert!(parse("A &").is_err());
        assert!(parse("(A").is_err());
    }

    #[test]
    fn resolved_names_evaluate_by_slot_and_are_still_listed() {
        let mut e = parse("A && !UNKNOWN && B > 1").unwrap();
        e.resolve(&|n| match n {
            "A" => Some(0),
            "B" => Some(1),
            _ => None,
        });
        let (mut code, mut consts) = (Vec::new(), Vec::new());
        e.compile(&mut code, &mut consts);
        let mut stack = Vec::new();
        let values = [1.0, 2.0];
        assert_eq!(run(&code, &consts, |i| values[i], &mut stack), 1.0);
        assert_eq!(run(&code, &consts, |i| [1.0, 1.0][i], &mut stack), 0.0);
        let mut names = Vec::new();
        e.names(&mut names);
        assert_eq!(names, vec!["A", "UNKNOWN", "B"]);
    }
}
