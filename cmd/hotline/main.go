// Command hotline is the contact-center controller. Everything lives in
// package cli; main only runs it and exits with its code.
package main

import (
	"os"

	"github.com/hotline-cc/hotline/controller/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:]))
}
