// The expression corpus for the differential tests: tcpdump filters over
// every primitive family (pcap-filter(7)), their combinations, byte offsets
// and arithmetic. All of them compile for Ethernet with pcap_open_dead and
// pass the kernel's classic BPF rules.

const BASE: readonly string[] = [
  // host / net
  'host 10.0.0.1', 'src host 10.0.0.1', 'dst host 10.0.0.2', 'ip host 192.168.1.10', 'host 8.8.8.8',
  'src or dst host 172.16.5.4', 'src and dst host 10.0.0.1', 'net 10.0.0.0/8', 'net 192.168.1.0/24', 'src net 172.16.0.0/12',
  'dst net 224.0.0.0/4', 'net 10.0.0.0 mask 255.0.0.0', 'net 192.168', 'host 255.255.255.255', 'host 224.0.0.251',
  'host 2001:db8::1', 'src host 2001:db8::2', 'dst host ff02::1', 'net 2001:db8::/32', 'net fe80::/10',
  'ip6 host ::1', 'dst net 2001:db8:1::/48', 'not host 10.0.0.1', 'host 10.0.0.1 and host 10.0.0.2', 'host 10.0.0.1 or host 2001:db8::1',
  // ports
  'port 80', 'tcp port 80', 'udp port 53', 'src port 1024', 'dst port 443', 'tcp dst port 22', 'udp src port 5353',
  'port 53 or port 5353', 'portrange 1000-2000', 'tcp portrange 6000-6010', 'udp src portrange 5000-6000',
  'dst portrange 1-1023', 'ip6 and port 80', 'ip and port 80', 'sctp port 80', 'not port 22', 'port 8080 and tcp',
  'tcp src port 80 or tcp dst port 80', 'port 40000', 'ip6 and udp port 53', 'portrange 0-65535',
  // ether
  'ether host 00:11:22:33:44:55', 'ether src 66:77:88:99:aa:bb', 'ether dst ff:ff:ff:ff:ff:ff', 'ether broadcast',
  'ether multicast', 'ether proto 0x0806', 'ether proto 0x88cc', 'ether[0] & 1 != 0', 'ether src 00:11:22:33:44:55 and ether dst 66:77:88:99:aa:bb',
  'not ether broadcast', 'ether dst 01:80:c2:00:00:00', 'ether host 02:00:00:00:00:02 or ether broadcast', 'ether proto \\ip',
  'ether proto \\ip6', 'ether proto \\arp',
  // arp / rarp
  'arp', 'rarp', 'arp host 10.0.0.1', 'arp[6:2] = 1', 'arp[6:2] = 2', 'arp and ether broadcast', 'arp or rarp',
  'arp src host 192.168.1.10', 'arp dst host 8.8.8.8',
  // ip / ip6 fields
  'ip', 'ip6', 'ip proto 17', 'ip proto \\tcp', 'ip proto 47', 'ip6 proto 58', 'ip[8] < 64', 'ip[8] = 1',
  'ip[1] & 0xfc = 0xb8', 'ip[0] & 0xf > 5', 'ip[6:2] & 0x1fff != 0', 'ip[6] & 0x20 != 0', 'ip[6] & 0x40 != 0',
  'ip multicast', 'ip6 multicast', 'ip and len > 100', 'ip[2:2] > 100', 'ip6[6] = 17', 'ip6[6] = 0', 'ip6[7] = 64',
  'ip6[0] & 0xf0 = 0x60', 'ip[9] = 6', 'ip[12:4] = 0x0a000001', 'ip[16:4] & 0xffffff00 = 0xc0a80100', 'ip6[8:4] = 0x20010db8',
  'ip and ip[8] > 100', 'ip proto \\udp and ip[6:2] & 0x3fff = 0', 'igmp', 'ip6 and ip6[40] = 128',
  // icmp / icmp6
  'icmp', 'icmp[icmptype] = icmp-echo', 'icmp[0] = 8', 'icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply',
  'icmp[icmptype] = icmp-unreach', 'icmp[1] = 3', 'icmp6', 'icmp6[icmp6type] = icmp6-echo', 'icmp6[0] = 135',
  'icmp6 and ip6[40] >= 133', 'icmp or icmp6', 'icmp[icmptype] = icmp-timxceed',
  // tcp / udp
  'tcp', 'udp', 'sctp', 'udp or sctp', 'tcp[tcpflags] & tcp-syn != 0', 'tcp[13] & 2 != 0', 'tcp[tcpflags] & (tcp-syn|tcp-ack) = tcp-syn',
  'tcp[tcpflags] & tcp-rst != 0', 'tcp[13] = 18', 'tcp[tcpflags] & tcp-fin != 0 or tcp[tcpflags] & tcp-rst != 0',
  'tcp[tcpflags] = tcp-push|tcp-ack', 'tcp[tcpflags] & (tcp-ece|tcp-cwr) != 0', 'tcp[tcpflags] & tcp-urg != 0', 'tcp[13] = 0',
  'tcp[12] & 0xf0 > 0x50', 'tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420', 'udp[8:2] = 0x1234', 'tcp[0:2] > 1023', 'tcp[2:2] = 80',
  'udp[0:2] = 53', 'udp[4:2] > 30', 'tcp[4:4] = 0x01020304', 'tcp[14:2] = 65535', 'ip6 and tcp and ip6[53] & 2 != 0',
  'tcp and tcp[20] = 2', 'udp and udp[2:2] = 53', 'tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack = 0',
  // length
  'len > 100', 'len <= 64', 'greater 200', 'less 60', 'len = 42', 'len - 14 > 50', 'len * 2 > 300', 'len / 2 > 40',
  'len % 7 = 3', 'len & 0xff = 60', 'len | 1 = 61', 'len ^ 0x3c = 0', 'len << 2 > 400', 'len >> 1 > 50', 'len + 4 >= 64',
  'len - 100 > 10', 'len * 3 / 2 > 120', 'len < 14', 'len >= 1500',
  // vlan and encapsulations
  'vlan', 'vlan 100', 'vlan and ip', 'vlan 100 and tcp port 80', 'vlan and vlan', 'vlan 10 and vlan 100', 'not vlan', 'vlan and arp',
  'vlan and ip6', 'vlan 200 and udp', 'vlan and host 10.0.0.1', 'vlan 20', 'vlan and vlan 100 and ip', 'mpls', 'mpls and ip', 'pppoes',
  'pppoes and ip', 'pppoes and tcp', 'llc', 'stp', 'ip and not vlan',
  // byte offsets and arithmetic on packet fields
  'ether[12:2] = 0x0800', 'ether[14] = 0x45', 'ether[100] = 0', 'ether[13] = 0x06 or ether[13] = 0x35', 'ether[6:4] = 0x66778899',
  'ip[(ip[0] & 0xf) * 4] = 8', 'ip[2:2] - ((ip[0] & 0xf) << 2) > 20', 'ip[2:2] / 3 > 4', 'ip[2:2] % 3 = 1', 'ip[8] * ip[9] > 300',
  'ip[8] + ip[9] = 70', 'ip[8] & ip[9] != 0', 'ip[8] | ip[9] = 0x46', 'ip[8] ^ ip[9] = 0', '-ip[8] < 0', 'ip[8] << 1 > 200',
  'ip[8] >> 2 = 16', 'ether[len - 1] = 0', 'ether[len - 4:4] != 0', 'ip[ip[0] & 0xf] != 0', 'ether[ether[14] & 0x1f] > 100',
  'ip[8] / ip[9] > 3', 'ip[8] % ip[9] = 1', 'ip[2:2] << ip[8] > 0', 'ip[2:2] >> ip[1] > 0', 'ether[ether[0]] > 0',
  'ip6[ip6[7]] = 0', 'tcp[tcp[12] >> 4] > 0',
];

const LONG_HOSTS = Array.from({ length: 24 }, (_, i) => `host 10.0.${i >> 3}.${i + 1}`).join(' or ');
const LONG_PORTS = Array.from({ length: 30 }, (_, i) => `port ${1000 + i * 17}`).join(' or ') + ' or port 80';

const COMBOS: readonly string[] = [
  'tcp and not port 22', '(tcp or udp) and host 10.0.0.1', 'not (port 80 or port 443)', 'ip and (icmp or (udp and port 53))',
  '!tcp', 'tcp && port 80 || udp', 'host 10.0.0.1 and (port 80 or port 443)', '(arp or icmp) and not vlan', 'tcp or icmp6 or arp',
  'not ip and not ip6', 'ip6 and (tcp or udp) and not port 53', 'not (tcp[tcpflags] & tcp-syn != 0)', '(len > 100 and tcp) or (len < 60 and udp)',
  'src net 10.0.0.0/8 and dst net 192.168.0.0/16', 'ether broadcast or ether multicast', '(host 10.0.0.1 or host 10.0.0.2) and not (port 22 or port 53)',
  'tcp and (tcp[tcpflags] & (tcp-syn|tcp-fin) != 0) and not src net 10.0.0.0/8', 'udp and (udp[0:2] = 53 or udp[2:2] = 53)',
  LONG_HOSTS, LONG_PORTS, `(${LONG_HOSTS}) and tcp`, 'not not tcp', '((tcp))', 'ip and ip', 'tcp or (udp and len > 80)',
];

/** Primitives crossed with each other by `and`, `or` and `and not` for breadth. */
const CROSS = ['tcp', 'udp', 'icmp', 'arp', 'ip6', 'vlan', 'port 80', 'host 10.0.0.2', 'len > 90', 'ether multicast'];
const CONTRADICTORY = new Set(['tcp|udp', 'tcp|arp', 'udp|icmp', 'udp|vlan', 'icmp|ip6', 'arp|port 80', 'ip6|vlan']);
function crossed(): string[] {
  const out: string[] = [];
  CROSS.forEach((a, i) => CROSS.forEach((b, j) => {
    if (j <= i) return;
    let op = ['and', 'or', 'and not'][(i + j) % 3]!;
    // libpcap refuses contradictions ("expression rejects all packets"): cross those with `or`
    if (op === 'and' && CONTRADICTORY.has(`${a}|${b}`)) op = 'or';
    out.push(`${a} ${op} ${b}`);
  }));
  return out;
}

/** The full corpus (over 250 expressions). */
export const EXPRESSIONS: readonly string[] = [...BASE, ...COMBOS, ...crossed()];

/** Expressions libpcap compiles to Linux ancillary loads (SKF_AD_*): JS and XDP must refuse them clearly. */
export const ANCILLARY_EXPRESSIONS: readonly string[] = ['inbound', 'outbound', 'tcp and inbound', 'ifindex 2'];

/** Expressions libpcap rejects, with the message libpcap gives (as tcpdump prints it). */
export const BAD_EXPRESSIONS: readonly string[] = [
  'foo bar', 'host', 'port 99999', 'tcp port http-nonexistent', 'ether host 1:2:3', 'net 10.0.0.1/8',
  'portrange 10-', 'tcp and udp', '(tcp', 'tcp[100000000000]', 'vlan 5000', 'ip proto nosuch',
];
