module github.com/kfp-driver/hack/argo-harness

go 1.24

require github.com/argoproj/argo-workflows/v3 v3.7.18
