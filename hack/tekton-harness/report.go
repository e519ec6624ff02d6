package harness

import (
	"context"
	"encoding/json"
	"os"
	"sort"
	"strconv"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/test"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
)

// Report is the harness's result document.
type Report struct {
	Name         string            `json:"name"`
	UID          string            `json:"uid"`
	Status       string            `json:"status"`
	Reason       string            `json:"reason"`
	Message      string            `json:"message"`
	Results      map[string]any    `json:"results"`
	SkippedTasks []SkippedTask     `json:"skippedTasks"`
	TaskRuns     []TaskRunReport   `json:"taskRuns"`
	Annotations  map[string]string `json:"annotations"`
}

// SkippedTask is a pipeline task Tekton did not run, and why (when expressions, a failed parent...).
type SkippedTask struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// TaskRunReport is one TaskRun: its pipeline task, matrix combination, outcome, results and params.
type TaskRunReport struct {
	PipelineTaskName string            `json:"pipelineTaskName"`
	Name             string            `json:"name"`
	PodName          string            `json:"podName"`
	Matrix           *MatrixReport     `json:"matrix"`
	Status           string            `json:"status"`
	Reason           string            `json:"reason"`
	Message          string            `json:"message"`
	Results          map[string]any    `json:"results"`
	Params           map[string]any    `json:"params"`
	Retries          int               `json:"retries"`
	StartTime        string            `json:"startTime"`
	CompletionTime   string            `json:"completionTime"`
	Annotations      map[string]string `json:"annotations"`
}

// MatrixReport is a fanned-out TaskRun's combination: its index and the matrix params' values.
type MatrixReport struct {
	Index  int            `json:"index"`
	Params map[string]any `json:"params"`
}

func writeReport(ctx context.Context, clients test.Clients, pr *v1.PipelineRun, out string) error {
	cond := pr.Status.GetCondition(apis.ConditionSucceeded)
	report := Report{Name: pr.Name, UID: string(pr.UID), Status: conditionOf(cond), Results: map[string]any{},
		SkippedTasks: []SkippedTask{}, TaskRuns: []TaskRunReport{}, Annotations: pr.Annotations}
	if cond != nil {
		report.Reason, report.Message = cond.Reason, cond.Message
	}
	for _, r := range pr.Status.Results {
		report.Results[r.Name] = r.Value
	}
	for _, s := range pr.Status.SkippedTasks {
		report.SkippedTasks = append(report.SkippedTasks, SkippedTask{Name: s.Name, Reason: string(s.Reason)})
	}
	matrixParams := matrixParamNames(pr)
	runs, err := clients.Pipeline.TektonV1().TaskRuns(pr.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, tr := range runs.Items {
		report.TaskRuns = append(report.TaskRuns, taskRunReport(&tr, matrixParams))
	}
	sort.Slice(report.TaskRuns, func(i, j int) bool { return report.TaskRuns[i].Name < report.TaskRuns[j].Name })
	data, err := json.MarshalIndent(report, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(out, data, 0o644)
}

func taskRunReport(tr *v1.TaskRun, matrixParams map[string][]string) TaskRunReport {
	cond := tr.Status.GetCondition(apis.ConditionSucceeded)
	task := tr.Labels["tekton.dev/pipelineTask"]
	r := TaskRunReport{PipelineTaskName: task, Name: tr.Name, PodName: tr.Status.PodName, Status: conditionOf(cond),
		Results: map[string]any{}, Params: map[string]any{}, Retries: len(tr.Status.RetriesStatus),
		Annotations: tr.Annotations}
	if cond != nil {
		r.Reason, r.Message = cond.Reason, cond.Message
	}
	if tr.Status.StartTime != nil {
		r.StartTime = tr.Status.StartTime.UTC().Format("2006-01-02T15:04:05.000000Z")
	}
	if tr.Status.CompletionTime != nil {
		r.CompletionTime = tr.Status.CompletionTime.UTC().Format("2006-01-02T15:04:05.000000Z")
	}
	for _, res := range tr.Status.Results {
		r.Results[res.Name] = res.Value
	}
	for _, p := range tr.Spec.Params {
		r.Params[p.Name] = p.Value
	}
	if names, ok := matrixParams[task]; ok {
		m := &MatrixReport{Params: map[string]any{}}
		if i := strings.LastIndexByte(tr.Name, '-'); i >= 0 {
			m.Index, _ = strconv.Atoi(tr.Name[i+1:])
		}
		for _, name := range names {
			if v, ok := r.Params[name]; ok {
				m.Params[name] = v
			}
		}
		r.Matrix = m
	}
	return r
}

// matrixParamNames maps each matrixed pipeline task to the names of its matrix params.
func matrixParamNames(pr *v1.PipelineRun) map[string][]string {
	out := map[string][]string{}
	if pr.Status.PipelineSpec == nil {
		return out
	}
	spec := pr.Status.PipelineSpec
	for _, task := range append(append([]v1.PipelineTask{}, spec.Tasks...), spec.Finally...) {
		if task.Matrix == nil || len(task.Matrix.Params) == 0 && len(task.Matrix.Include) == 0 {
			continue
		}
		names := []string{}
		for _, p := range task.Matrix.Params {
			names = append(names, p.Name)
		}
		for _, inc := range task.Matrix.Include {
			for _, p := range inc.Params {
				names = append(names, p.Name)
			}
		}
		out[task.Name] = names
	}
	return out
}

func conditionOf(c *apis.Condition) string {
	if c == nil {
		return "Unknown"
	}
	return string(c.Status)
}

func parseJSONList(text string) ([]string, error) {
	var words []string
	err := json.Unmarshal([]byte(text), &words)
	return words, err
}
