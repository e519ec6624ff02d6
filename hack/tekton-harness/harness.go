// Package harness runs a Tekton PipelineRun on Tekton's own PipelineRun and TaskRun reconcilers,
// in-process on fake clients (Tekton's test-seeding helpers), and runs every pod the TaskRun
// reconciler creates as local processes (see pods.go).
package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	_ "github.com/tektoncd/pipeline/pkg/pipelinerunmetrics/fake" // the reconcilers' metrics recorders
	"github.com/tektoncd/pipeline/pkg/reconciler/pipelinerun"
	"github.com/tektoncd/pipeline/pkg/reconciler/taskrun"
	rtesting "github.com/tektoncd/pipeline/pkg/reconciler/testing"
	_ "github.com/tektoncd/pipeline/pkg/taskrunmetrics/fake"
	"github.com/tektoncd/pipeline/test"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	cminformer "knative.dev/pkg/configmap/informer"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"
	"knative.dev/pkg/reconciler"
	"knative.dev/pkg/system"
)

// Config is what one harness run needs.
type Config struct {
	Manifest    string
	Workdir     string
	Launcher    []string
	Seed        string
	Parallelism int
	Timeout     time.Duration
	Out         string
}

// images the TaskRun reconciler writes into pods; the pod runner never pulls them.
var images = pipeline.Images{EntrypointImage: "tekton/entrypoint", NopImage: "tekton/nop", ShellImage: "busybox"}

type engine struct {
	ctx     context.Context
	clients test.Clients
	prCtl   *controller.Impl
	trCtl   *controller.Impl
	pods    *podRunner
	log     *zap.SugaredLogger
}

// Run executes the manifest and writes the result document to cfg.Out.
func Run(t *testing.T, cfg Config) error {
	if err := os.Setenv(system.NamespaceEnvKey, "tekton-pipelines"); err != nil {
		return err
	}
	logger, err := fileLogger(cfg.Workdir)
	if err != nil {
		return err
	}
	defer logger.Sync() //nolint:errcheck
	pr, err := loadPipelineRun(cfg.Manifest)
	if err != nil {
		return err
	}
	flags, err := featureFlags(pr)
	if err != nil {
		return err
	}
	ctx, _ := rtesting.SetupFakeContext(t)
	ctx = logging.WithLogger(ctx, logger)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := defaultAndValidate(ctx, pr, flags); err != nil {
		return err
	}
	secrets, maps, err := seedObjects(cfg.Seed, pr.Namespace)
	if err != nil {
		return err
	}
	data := test.Data{
		PipelineRuns:    []*v1.PipelineRun{pr},
		ConfigMaps:      append(configMaps(flags), maps...),
		Secrets:         secrets,
		ServiceAccounts: serviceAccounts(pr),
		Namespaces:      []*corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: pr.Namespace}}},
	}
	test.EnsureConfigurationConfigMapsExist(&data)
	clients, _ := test.SeedTestData(t, ctx, data)
	go drainEvents(ctx, logger)
	watcher := cminformer.NewInformedWatcher(clients.Kube, system.Namespace())
	opts := &pipeline.Options{Images: images}
	e := &engine{ctx: ctx, clients: clients, log: logger,
		prCtl: pipelinerun.NewController(opts, clock.RealClock{})(ctx, watcher),
		trCtl: taskrun.NewController(opts, clock.RealClock{})(ctx, watcher)}
	for _, ctl := range []*controller.Impl{e.prCtl, e.trCtl} {
		if la, ok := ctl.Reconciler.(reconciler.LeaderAware); ok {
			if err := la.Promote(reconciler.UniversalBucket(), func(reconciler.Bucket, types.NamespacedName) {}); err != nil {
				return err
			}
		}
	}
	if err := watcher.Start(ctx.Done()); err != nil {
		return err
	}
	e.pods = newPodRunner(ctx, clients.Kube, cfg, logger)
	done, err := e.loop(pr.Namespace, pr.Name, cfg.Timeout)
	if err != nil {
		cancel() // kills the pods still running
		e.pods.wait()
		return err
	}
	e.pods.wait()
	return writeReport(ctx, clients, done, cfg.Out)
}

// loop reconciles the PipelineRun, its TaskRuns and their pods until the PipelineRun is done.
func (e *engine) loop(namespace, name string, timeout time.Duration) (*v1.PipelineRun, error) {
	deadline := time.Now().Add(timeout)
	idle := 0
	last := ""
	for {
		if err := e.reconcile(e.prCtl, namespace+"/"+name); err != nil {
			return nil, err
		}
		runs, err := e.clients.Pipeline.TektonV1().TaskRuns(namespace).List(e.ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for _, tr := range runs.Items {
			if !tr.IsDone() || tr.Status.CompletionTime == nil {
				if err := e.reconcile(e.trCtl, tr.Namespace+"/"+tr.Name); err != nil {
					return nil, err
				}
			}
		}
		if err := e.pods.startNew(namespace); err != nil {
			return nil, err
		}
		pr, err := e.clients.Pipeline.TektonV1().PipelineRuns(namespace).Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		if pr.IsDone() {
			return pr, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the PipelineRun did not finish within %s", timeout)
		}
		state, err := e.fingerprint(namespace)
		if err != nil {
			return nil, err
		}
		switch {
		case state != last:
			idle = 0
		case e.pods.running() > 0:
			e.pods.waitForOne(time.Until(deadline))
		default:
			idle++
			if idle > 20 {
				return nil, errors.New("the reconcilers stopped making progress before the PipelineRun finished")
			}
			time.Sleep(time.Duration(idle) * 10 * time.Millisecond)
		}
		last = state
	}
}

// reconcile runs one reconciler pass; requeue requests are normal, other errors are logged
// (the reconcilers record them in the objects' status, as on a cluster).
func (e *engine) reconcile(ctl *controller.Impl, key string) error {
	err := ctl.Reconciler.Reconcile(e.ctx, key)
	if err == nil {
		return nil
	}
	if ok, _ := controller.IsRequeueKey(err); ok {
		return nil
	}
	e.log.Warnw("reconcile error", "key", key, "error", err)
	return nil
}

// fingerprint changes whenever any PipelineRun, TaskRun or pod changes.
func (e *engine) fingerprint(namespace string) (string, error) {
	var parts []string
	prs, err := e.clients.Pipeline.TektonV1().PipelineRuns(namespace).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	for _, o := range prs.Items {
		parts = append(parts, "pr/"+o.Name+"/"+o.ResourceVersion+"/"+conditionOf(o.Status.GetCondition("Succeeded")))
	}
	trs, err := e.clients.Pipeline.TektonV1().TaskRuns(namespace).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	for _, o := range trs.Items {
		parts = append(parts, "tr/"+o.Name+"/"+o.ResourceVersion+"/"+conditionOf(o.Status.GetCondition("Succeeded")))
	}
	pods, err := e.clients.Kube.CoreV1().Pods(namespace).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	for _, o := range pods.Items {
		parts = append(parts, "pod/"+o.Name+"/"+string(o.Status.Phase))
	}
	sort.Strings(parts)
	return strings.Join(parts, "\n"), nil
}

func serviceAccounts(pr *v1.PipelineRun) []*corev1.ServiceAccount {
	names := map[string]bool{"default": true}
	if pr.Spec.TaskRunTemplate.ServiceAccountName != "" {
		names[pr.Spec.TaskRunTemplate.ServiceAccountName] = true
	}
	for _, spec := range pr.Spec.TaskRunSpecs {
		if spec.ServiceAccountName != "" {
			names[spec.ServiceAccountName] = true
		}
	}
	var out []*corev1.ServiceAccount
	for name := range names {
		out = append(out, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: pr.Namespace}})
	}
	return out
}

// drainEvents logs the reconcilers' Kubernetes events (the fake recorder blocks when its buffer is full).
func drainEvents(ctx context.Context, logger *zap.SugaredLogger) {
	recorder, ok := controller.GetEventRecorder(ctx).(*record.FakeRecorder)
	if !ok {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case event := <-recorder.Events:
			logger.Infow("event", "event", event)
		}
	}
}

func fileLogger(workdir string) (*zap.SugaredLogger, error) {
	cfg := zap.NewDevelopmentConfig()
	cfg.OutputPaths = []string{workdir + "/controller.log"}
	cfg.ErrorOutputPaths = []string{"stderr"}
	cfg.DisableStacktrace = true
	logger, err := cfg.Build()
	if err != nil {
		return nil, err
	}
	return logger.Sugar(), nil
}
