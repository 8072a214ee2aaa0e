//! The one integration-test binary. Each module tests one part of the product against real
//! peers (databases, Postfix, Dovecot, SpamAssassin) that `scripts/test` installs and starts.

mod architecture;
mod rules; // the rule engine against SpamAssassin as the oracle, and hostile input
