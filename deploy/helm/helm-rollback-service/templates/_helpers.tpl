{{/* The release's full name, at most 63 characters (a label value). */}}
{{- define "hrs.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "hrs.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "api"). */}}
{{- define "hrs.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "hrs.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{- define "hrs.serviceAccount" -}}
{{- .Values.serviceAccount.name | default (include "hrs.fullname" .) -}}
{{- end -}}

{{- define "hrs.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "hrs.fullname" .) -}}
{{- end -}}

{{/* Where a cluster's kubeconfig Secret is mounted in its executor. */}}
{{- define "hrs.kubeconfigDir" -}}
/etc/helm-rollback-service/clusters/{{ . }}
{{- end -}}

{{/* CLUSTERS as the service reads it: names, namespaces, and the mounted kubeconfig of remote clusters. */}}
{{- define "hrs.clustersJson" -}}
{{- $out := list -}}
{{- range .Values.clusters -}}
{{- $c := dict "name" .name -}}
{{- if .namespaces }}{{- $_ := set $c "namespaces" .namespaces -}}{{- end -}}
{{- if .kubeconfigSecret }}{{- $_ := set $c "kubeconfig" (printf "%s/kubeconfig" (include "hrs.kubeconfigDir" .name)) -}}{{- end -}}
{{- $out = append $out $c -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
A Deployment of one app: (dict "root" $ "component" "api" "app" $.Values.api "main" "api" "name" "…"
"extraEnv" list "extraVolumes" list "extraMounts" list "serviceAccount" bool).
*/}}
{{- define "hrs.deployment" -}}
{{- $root := .root -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
  labels:
    {{- include "hrs.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  replicas: {{ .app.replicas }}
  selector:
    matchLabels:
      {{- include "hrs.selector" (dict "root" $root "component" .component) | nindent 6 }}
      {{- with .cluster }}
      helm-rollback-service/cluster: {{ . }}
      {{- end }}
  template:
    metadata:
      labels:
        {{- include "hrs.selector" (dict "root" $root "component" .component) | nindent 8 }}
        {{- with .cluster }}
        helm-rollback-service/cluster: {{ . }}
        {{- end }}
        {{- with $root.Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        # A changed configuration rolls the pods.
        checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
        {{- with $root.Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      {{- if .serviceAccount }}
      serviceAccountName: {{ include "hrs.serviceAccount" $root }}
      {{- else }}
      automountServiceAccountToken: false
      {{- end }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      terminationGracePeriodSeconds: {{ .grace | default 45 }}
      containers:
        - name: {{ .component }}
          image: {{ include "hrs.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args: ["dist/apps/{{ .main }}/src/main.js"]
          ports:
            - name: http
              containerPort: {{ .app.port }}
          envFrom:
            - configMapRef:
                name: {{ include "hrs.fullname" $root }}
            - secretRef:
                name: {{ include "hrs.secretName" $root }}
          env:
            {{- with .extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
            {{- if $root.Values.signing.secret }}
            - name: KAFKA_SIGNING_KEY_FILE
              value: /etc/helm-rollback-service/signing/key.jwk
            {{- if eq .component "release-service" }}
            - name: KAFKA_SIGNERS_FILE
              value: /etc/helm-rollback-service/signing/signers.json
            {{- end }}
            {{- end }}
            {{- with .app.nodeOptions }}
            - name: NODE_OPTIONS
              value: {{ . | quote }}
            {{- end }}
            - name: HTTP_HOST
              value: "0.0.0.0"
          startupProbe:
            httpGet: { path: /health/live, port: http }
            periodSeconds: 2
            failureThreshold: 60
          livenessProbe:
            httpGet: { path: /health/live, port: http }
            periodSeconds: 10
            failureThreshold: 3
          readinessProbe:
            httpGet: { path: /health/ready, port: http }
            periodSeconds: 5
            failureThreshold: 3
          resources:
            {{- toYaml .app.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- with .extraMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
            {{- if $root.Values.signing.secret }}
            - name: signing
              mountPath: /etc/helm-rollback-service/signing
              readOnly: true
            {{- end }}
      volumes:
        - name: tmp
          emptyDir: { sizeLimit: 256Mi }
        {{- if $root.Values.signing.secret }}
        # Each app sees its own signing key only; the release service also the signers' public keys.
        - name: signing
          secret:
            secretName: {{ $root.Values.signing.secret }}
            items:
              - { key: {{ printf "%s.jwk" .component }}, path: key.jwk }
              {{- if eq .component "release-service" }}
              - { key: signers.json, path: signers.json }
              {{- end }}
        {{- end }}
        {{- with .extraVolumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with $root.Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}

{{/* A PodDisruptionBudget of one component, when its pdb is enabled. */}}
{{- define "hrs.pdb" -}}
{{- if .app.pdb.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ .name }}
  labels:
    {{- include "hrs.labels" .root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  minAvailable: {{ .app.pdb.minAvailable }}
  selector:
    matchLabels:
      {{- include "hrs.selector" (dict "root" .root "component" .component) | nindent 6 }}
      {{- with .cluster }}
      helm-rollback-service/cluster: {{ . }}
      {{- end }}
{{- end }}
{{- end -}}
