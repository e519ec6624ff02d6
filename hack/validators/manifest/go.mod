module github.com/kfp-driver/hack/validators/manifest

go 1.25.7

require sigs.k8s.io/yaml v1.4.0
