//! The one integration-test binary. Each module tests one part of the product against real
//! peers (databases, Postfix, Dovecot, SpamAssassin) that `scripts/test` installs and starts.

mod architecture;
mod milter; // the milter in-process (indymilter-test) and behind a private Postfix (swaks)
mod rules; // the rule engine against SpamAssassin as the oracle, and hostile input
mod spam; // `spam explain` / `policy explain` output, golden files
mod support; // private instances of real peers (Postfix)
