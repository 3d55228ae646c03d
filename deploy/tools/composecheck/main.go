// Command composecheck loads a Compose file with the reference loader (compose-go), which
// validates it against the compose-spec JSON schema, interpolates the env file and normalizes
// it the way `docker compose` does, then prints the resolved project as JSON. The deploy
// tests use it because no Docker engine (and no `docker compose`) exists on the test machines.
//
// Usage:
//
//	composecheck -f deploy/docker-compose.yml [-env-file deploy/.env.example] [-profile a,b]
//
// Services behind a profile are left out unless -profile names it, as `docker compose
// --profile` does.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	file := flag.String("f", "docker-compose.yml", "compose file to load")
	envFile := flag.String("env-file", "", "env file used for interpolation, as `docker compose --env-file`")
	profiles := flag.String("profile", "", "comma-separated profiles to enable, as `docker compose --profile`")
	flag.Parse()
	if err := run(*file, *envFile, *profiles); err != nil {
		fmt.Fprintln(os.Stderr, "composecheck:", err)
		os.Exit(1)
	}
}

func run(file, envFile, profiles string) error {
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	opts := []cli.ProjectOptionsFn{
		cli.WithName("chunkscope"),
		cli.WithWorkingDirectory(filepath.Dir(abs)),
	}
	if envFile != "" {
		opts = append(opts, cli.WithEnvFiles(envFile), cli.WithDotEnv)
	}
	if profiles != "" {
		opts = append(opts, cli.WithProfiles(strings.Split(profiles, ",")))
	}
	options, err := cli.NewProjectOptions([]string{abs}, opts...)
	if err != nil {
		return err
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		return err
	}
	out, err := project.MarshalJSON()
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(out, '\n'))
	return err
}
