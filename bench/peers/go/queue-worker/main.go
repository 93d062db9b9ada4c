// The worker both contenders run in the KEDA head-to-head (bench/keda.ts): a
// static binary the bench mounts into the real node's containers, so KEDA's
// model (the Job pops its own item) and kjd's (the item comes in as an
// argument) run the same code and differ only in where the item comes from.
//
//	queue-worker pop   REDIS_ADDR LIST REPORT WORK_MS INIT_MS   KEDA: RPOP one item
//	queue-worker given REDIS_ADDR ITEM REPORT WORK_MS INIT_MS   kjd: the item is ITEM
//
// It first initialises for INIT_MS (as a real worker loads its code and
// connects before it takes work). Then it LPUSHes "<unix ms> <pod> <item>" to REPORT (item "-" when the
// list was empty: a Job with nothing to do), works WORK_MS, and exits 0. Raw
// RESP over TCP keeps it free of modules: nothing to download to build it.
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

func command(w *bufio.Writer, args ...string) {
	fmt.Fprintf(w, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(w, "$%d\r\n%s\r\n", len(a), a)
	}
}

// reply reads one RESP reply; a nil bulk string is ok=false.
func reply(r *bufio.Reader) (string, bool, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", false, err
	}
	line = strings.TrimRight(line, "\r\n")
	switch line[0] {
	case '+', ':':
		return line[1:], true, nil
	case '-':
		return "", false, fmt.Errorf("redis: %s", line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", false, err
		}
		buf := make([]byte, n+2)
		if _, err := readFull(r, buf); err != nil {
			return "", false, err
		}
		return string(buf[:n]), true, nil
	}
	return "", false, fmt.Errorf("redis: unexpected reply %q", line)
}

func readFull(r *bufio.Reader, buf []byte) (int, error) {
	read := 0
	for read < len(buf) {
		n, err := r.Read(buf[read:])
		read += n
		if err != nil {
			return read, err
		}
	}
	return read, nil
}

func main() {
	if len(os.Args) != 7 || (os.Args[1] != "pop" && os.Args[1] != "given") {
		fmt.Fprintln(os.Stderr, "usage: queue-worker pop|given REDIS_ADDR LIST|ITEM REPORT WORK_MS INIT_MS")
		os.Exit(2)
	}
	mode, addr, arg, report := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	workMs, err := strconv.Atoi(os.Args[5])
	initMs, err2 := strconv.Atoi(os.Args[6])
	if err != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "WORK_MS and INIT_MS: integers")
		os.Exit(2)
	}
	time.Sleep(time.Duration(initMs) * time.Millisecond)
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer conn.Close()
	r, w := bufio.NewReader(conn), bufio.NewWriter(conn)
	item := arg
	if mode == "pop" {
		command(w, "RPOP", arg)
		w.Flush()
		popped, ok, err := reply(r)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		item = "-"
		if ok {
			item = popped
		}
	}
	pod := os.Getenv("POD_NAME")
	command(w, "LPUSH", report, fmt.Sprintf("%d %s %s", time.Now().UnixMilli(), pod, item))
	w.Flush()
	if _, _, err := reply(r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("worked on %s\n", item)
	time.Sleep(time.Duration(workMs) * time.Millisecond)
}
