# Points Net::DNS at the test's loopback DNS server for Debian's sa-update.
#
# sa-update runs under taint mode (-T), where Net::DNS refuses name servers from RES_NAMESERVERS,
# RES_OPTIONS or ~/.resolv.conf (tainted) and trusts only /etc/resolv.conf, which the tests must
# not change. Loaded with `perl -T -I<this dir> -MMailwardTestResolver /usr/bin/sa-update`, it
# sets the untainted address and port on every resolver sa-update creates; sa-update itself runs
# unmodified.
package MailwardTestResolver;
use strict;
use warnings;
use Net::DNS;

my ($ip) = ($ENV{MAILWARD_TEST_DNS_IP} // '') =~ /^([0-9.]+)$/ or die "MAILWARD_TEST_DNS_IP missing\n";
my ($port) = ($ENV{MAILWARD_TEST_DNS_PORT} // '') =~ /^([0-9]+)$/ or die "MAILWARD_TEST_DNS_PORT missing\n";
my $original = Net::DNS::Resolver->can('new');
{
    no strict 'refs';
    no warnings 'redefine';
    *{'Net::DNS::Resolver::new'} = sub {
        my $resolver = $original->(@_);
        $resolver->nameservers($ip);
        $resolver->port($port);
        return $resolver;
    };
}
1;
