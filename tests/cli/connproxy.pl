#!/usr/bin/perl
# TCP relay that counts how many client connections are open at once:
#   connproxy.pl TARGET_PORT
# listens on 127.0.0.1 (any port), prints "port <n>" once listening, relays
# every accepted connection to 127.0.0.1:TARGET_PORT byte for byte (EOF is
# passed on as a half-close), and on SIGTERM prints
# "total <accepted> max <most open at once>" and exits. A client connection
# counts as open from accept until both directions reached EOF (or an
# error) and the sockets are closed. Only perl-base modules.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use Socket qw(SHUT_WR);

my $target = shift or die "usage: connproxy.pl TARGET_PORT\n";
my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                              Listen => 128, ReuseAddr => 1) or die "listen: $!\n";
$| = 1;
print "port ", $l->sockport, "\n";

my $sel = IO::Select->new($l);
my %peer;   # fileno -> the other socket
my %pair;   # fileno -> pair record {c, u, eof => {fileno => 1}}
my ($open, $max, $total) = (0, 0, 0);
my $stop = 0;
$SIG{TERM} = sub { $stop = 1 };

sub drop {
  my ($p) = @_;
  for my $s ($p->{c}, $p->{u}) {
    $sel->remove($s);
    delete $peer{fileno $s};
    delete $pair{fileno $s};
    close $s;
  }
  $open--;
}

while (!$stop) {
  my @ready = $sel->can_read(0.2);
  # ends of connections first, so a close and the next accept that arrive
  # together are counted in the order they happened
  for my $s (sort { ($a == $l) <=> ($b == $l) } @ready) {
    if ($s == $l) {
      my $c = $l->accept or next;
      my $u = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $target)
        or do { close $c; next };
      my $p = {c => $c, u => $u, eof => {}};
      $peer{fileno $c} = $u; $peer{fileno $u} = $c;
      $pair{fileno $c} = $p; $pair{fileno $u} = $p;
      $sel->add($c, $u);
      $total++; $open++;
      $max = $open if $open > $max;
      next;
    }
    my $p = $pair{fileno $s} or next;
    my $buf;
    my $n = sysread($s, $buf, 65536);
    if (!defined $n) { drop($p); next; }
    if ($n == 0) {
      $p->{eof}{fileno $s} = 1;
      $sel->remove($s);
      shutdown($peer{fileno $s}, SHUT_WR);
      drop($p) if keys %{$p->{eof}} == 2;
      next;
    }
    my $o = $peer{fileno $s};
    while (length $buf) {
      my $w = syswrite($o, $buf);
      if (!defined $w) { drop($p); last; }
      substr($buf, 0, $w) = '';
    }
  }
}
print "total $total max $max\n";
