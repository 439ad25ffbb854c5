package framework

import (
	"fmt"
	"os/exec"
	"path"
	"path/filepath"
)

// BuildBinary builds the Go package pkg (an import path of the main or the
// test module) into dir, named after the package's last element, and
// returns the binary's path. The error carries the compiler's output.
func BuildBinary(dir, pkg string) (string, error) {
	bin := filepath.Join(dir, path.Base(pkg))
	out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building %s: %v\n%s", pkg, err, out)
	}
	return bin, nil
}

// BuildImageBinaries builds, for each image, the package it maps to, and
// returns the image-to-binary mapping cluster.Options.ImageBinaries wants.
func BuildImageBinaries(dir string, packages map[string]string) (map[string]string, error) {
	images := make(map[string]string, len(packages))
	for image, pkg := range packages {
		bin, err := BuildBinary(dir, pkg)
		if err != nil {
			return nil, err
		}
		images[image] = bin
	}
	return images, nil
}
