// The version oracle of part 41: prints, for every input line, what Go's go/version package
// says about it, in the format crates/goshift-version/examples/version_table.rs prints for
// goshift.
//
//	go run versions.go gen >inputs.txt   the inputs: `P<TAB>version` (also compared pairwise)
//	                                     or `-<TAB>version`
//	go run versions.go <inputs.txt       per input `valid<TAB>lang`, then one row per pair
//	                                     input: `-`, `0` or `+` for Compare with every pair input
package main

import (
	"bufio"
	"fmt"
	"go/version"
	"os"
	"strings"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "gen" {
		generate()
		return
	}
	answer()
}

func generate() {
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	prefixes := []string{"go", "", "g", "gogo"}
	majors := []string{"0", "1", "2", "01", "10", "18446744073709551615", "18446744073709551616", "99999999999999999999999"}
	minors := []string{"", ".0", ".1", ".9", ".20", ".21", ".22", ".010", ".18446744073709551616", "."}
	patches := []string{"", ".0", ".1", ".10", ".01", ".99999999999999999999", "."}
	kinds := []string{"", "rc", "rc1", "rc2", "rc01", "beta1", "alpha3", "RC1", "pre", "a1b", "rc0"}
	suffixes := []string{"", "-bigcorp", "-", "-pre4", " ", "+auto", "x", "-go1.2"}
	n := 0
	for _, prefix := range prefixes {
		for _, major := range majors {
			for _, minor := range minors {
				for _, patch := range patches {
					if minor == "" && patch != "" {
						continue
					}
					for _, kind := range kinds {
						for _, suffix := range suffixes {
							v := prefix + major + minor + patch + kind + suffix
							// Every valid version without a suffix, and a sample of the rest, are
							// also compared pairwise.
							pair := "-"
							valid := version.IsValid(v)
							if valid && (suffix == "" || suffix == "-bigcorp" && n%7 == 0) || n%997 == 0 {
								pair = "P"
							}
							n++
							fmt.Fprintf(out, "%s\t%s\n", pair, v)
						}
					}
				}
			}
		}
	}
}

func answer() {
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	var pairs []string
	for in.Scan() {
		flag, v, ok := strings.Cut(in.Text(), "\t")
		if !ok {
			fmt.Fprintf(os.Stderr, "versions: malformed input line %q\n", in.Text())
			os.Exit(2)
		}
		fmt.Fprintf(out, "%t\t%s\n", version.IsValid(v), version.Lang(v))
		if flag == "P" {
			pairs = append(pairs, v)
		}
	}
	row := make([]byte, len(pairs))
	for _, x := range pairs {
		for j, y := range pairs {
			row[j] = "-0+"[version.Compare(x, y)+1]
		}
		out.Write(row)
		out.WriteByte('\n')
	}
}
