package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v5"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/export"
	"github.com/contrastive-explorer/explorer/run/runner"
	"github.com/contrastive-explorer/explorer/trainer"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
	"github.com/contrastive-explorer/explorer/views"
)

// render writes component with status. It renders into a buffer first, so
// a rendering error becomes a clean 500 instead of half a page.
func render(c *echo.Context, status int, component templ.Component) error {
	buf := templ.GetBuffer()
	defer templ.ReleaseBuffer(buf)
	if err := component.Render(c.Request().Context(), buf); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

func (s *Server) homePage(c *echo.Context) error {
	p, err := s.homeModel(session(c))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.Home(p))
}

// teachPage is the home page's form for building an exercise's link.
func (s *Server) teachPage(c *echo.Context) error {
	p, err := s.homeModel(session(c))
	if err != nil {
		return err
	}
	p.Teacher = true
	return render(c, http.StatusOK, views.Home(p))
}

func (s *Server) runPage(c *echo.Context) error {
	r, err := s.run(c)
	if run.ErrorCode(err) == run.NotFound {
		return render(c, http.StatusNotFound, views.Error(views.ErrorPage{
			Status: http.StatusNotFound, Title: "No such run",
			Message: "There is no run " + strconv.Quote(clipName(c.Param("id"))) + " on this server: it may have been deleted. Start a new one from the start page.",
		}))
	} else if err != nil {
		return err
	}
	// Opening a run's link lists the run on this browser's runs page.
	if err := s.runs.Share(c.Request().Context(), r, session(c)); err != nil {
		s.log.Warn("recording a shared run", "run", r.ID(), "err", err)
	}
	m := runModel(r)
	// ?layout=projector: large type, the map as the hero, for a room.
	m.Projector = c.QueryParam("layout") == "projector"
	return render(c, http.StatusOK, views.Run(m))
}

// lossChoices explain each loss to a learner, in the order the home page
// shows them.
var lossChoices = []views.Choice{
	{Value: trainer.LossContrastive, Title: "Contrastive (pairs)",
		Explanation: "Looks at two items at a time. A positive pair is pulled together; a negative pair is pushed apart until it is at least the margin away, then left alone. The oldest and simplest recipe (Hadsell, Chopra & LeCun, 2006)."},
	{Value: trainer.LossTriplet, Title: "Triplet",
		Explanation: "Looks at three items: an anchor, a positive and a negative. It only asks that the positive be closer to the anchor than the negative, by at least the margin. Mining decides which triplets to learn from (FaceNet, 2015)."},
	{Value: trainer.LossNTXent, Title: "NT-Xent (SimCLR)",
		Explanation: "Turns each item into a multiple-choice question: which of all the other items in the batch is my partner? A softmax over similarities, sharpened by the temperature, rewards the partner and pushes every other item away at once (SimCLR, 2020)."},
	{Value: trainer.LossSupCon, Title: "Supervised contrastive (SupCon)",
		Explanation: "Like NT-Xent, but every item of the same class in the batch counts as a right answer, so whole classes are pulled together at once (Khosla et al., 2020). With pairs from augmentations it is NT-Xent."},
}

// lossNotes say, for each loss, what a learner should see on the run page
// and which settings change it.
var lossNotes = map[string]string{
	trainer.LossContrastive: "Same-class points (or the two views of an item) draw together, and a negative pair is pushed apart only until it is the margin apart: once clusters clear the margin they stop moving away. A larger margin spreads the clusters further; a margin near 2 (the sphere's diameter) keeps pushing everything.",
	trainer.LossTriplet:     "Clusters form but keep some spread: a triplet whose negative is already the margin farther than its positive teaches nothing, so points that are good enough stay where they are. Mining picks the triplets: hard ones move the picture fastest but can collapse it, semi-hard (the default) is the steady choice.",
	trainer.LossNTXent:      "Partners meet (alignment falls) while all the points spread over the sphere (uniformity falls too). The temperature sets how much the hardest negatives count: low values sharpen clusters but can split a class, high values blur them. The batch is the number of negatives: bigger batches push harder.",
	trainer.LossSupCon:      "One tight cluster per class, fast: every item of the same class is a positive, so the nearest-neighbour accuracy should pass the raw-input baseline within a few epochs. The temperature works as in NT-Xent; too low and the classes turn into small islands.",
}

// pairChoices explain where positive pairs come from.
var pairChoices = []views.Choice{
	{Value: trainer.PairsLabels, Title: trainer.PairTitles[trainer.PairsLabels], Tag: "supervised",
		Explanation: "Two items are similar when they carry the same label: two pictures of a 3 are a positive pair, a 3 and a 7 a negative pair. The encoder learns what the labels mean."},
	{Value: trainer.PairsLabelsAugment, Title: trainer.PairTitles[trainer.PairsLabelsAugment], Tag: "supervised",
		Explanation: "Every item enters the batch as two distorted versions; its positives are its other version and every item of its class. The distortions keep the encoder from memorising the training items (Khosla et al., 2020)."},
	{Value: trainer.PairsAugment, Title: trainer.PairTitles[trainer.PairsAugment], Tag: "self-supervised",
		Explanation: "No labels are used. Each item is distorted twice (pictures get noise and a hidden patch; texts lose some words) and the two versions are a positive pair; every other item is a negative. Clusters appear without anyone naming them (SimCLR)."},
	{Value: trainer.PairsHeadword, Title: trainer.PairTitles[trainer.PairsHeadword], Tag: "dictionaries",
		Explanation: "For dictionary datasets such as WordNet: a word and its own definition are a positive pair, so each definition learns to sit near the word it defines. No labels are used. Expect fewer clusters than from distorted views: on WordNet held-out kNN reaches about 0.61, under raw word pieces' 0.69, because a word's spelling says little about its topic."},
	{Value: trainer.PairsCooccur, Title: trainer.PairTitles[trainer.PairsCooccur], Tag: "histories",
		Explanation: "For listening histories: two tracks played by the same listener are a positive pair (item2vec). Tracks that share an audience end up close, which is what a recommender needs."},
}

func checked(cs []views.Choice, value string) []views.Choice {
	out := make([]views.Choice, len(cs))
	for i, c := range cs {
		c.Checked = c.Value == value
		out[i] = c
	}
	return out
}

func formatFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

func options(selected string, pairs ...string) []views.Option {
	var out []views.Option
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, views.Option{Value: pairs[i], Label: pairs[i+1], Selected: pairs[i] == selected})
	}
	return out
}

func joinInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ",")
}

// homeModel builds the home page of a session: the bundled datasets and
// the session's uploads, and the trainer's choices, with
// trainer.DefaultConfig's values and its limits as HTML constraints.
func (s *Server) homeModel(sess string) (views.HomePage, error) {
	def := trainer.DefaultConfig()
	var p views.HomePage
	maxTrain := 2
	entries, err := s.loadedDatasets(sess)
	if err != nil {
		return views.HomePage{}, err
	}
	for i, e := range entries {
		in := e.Info
		card := views.DatasetCard{
			Name: e.ID, Title: in.Title, Description: in.Description, Kind: string(in.Kind),
			Items: in.Items, Train: in.Train, Test: in.Test, Classes: in.Classes,
			Source: in.Source, License: in.License, Checked: i == 0,
			Uploaded: e.Uploaded, Synthetic: e.Synthetic, Precomputed: e.Precomputed,
		}
		unusable := trainer.UnusablePairs(e.Data)
		card.Defaults, card.Unusable = string(mustJSON(formDefaults(e.Data, unusable))), string(mustJSON(unusable))
		if e.Synthetic {
			// The badge says so: once on a card is enough.
			card.Title = strings.TrimSpace(strings.TrimSuffix(card.Title, "(synthetic)"))
		}
		if in.Kind == dataset.Images && in.Width > 0 && in.Height > 0 {
			card.Size = strconv.Itoa(in.Width) + "×" + strconv.Itoa(in.Height) + " pixels"
			card.PreviewURL = "/api/datasets/" + e.ID + "/preview.png"
		}
		maxTrain = max(maxTrain, in.Train)
		p.Datasets = append(p.Datasets, card)
		if e.Uploaded {
			p.Uploads = append(p.Uploads, card)
		}
	}
	p.UploadLimit = dataset.FormatSize(s.limits.MaxBytes)
	p.Losses = checked(lossChoices, def.Loss)
	p.Pairs = checked(pairChoices, def.Pairs)
	num := func(name, label, help, value, lo, hi, step string) views.Field {
		return views.Field{Name: name, Label: label, Help: help, Kind: views.FieldNumber, Value: value, Min: lo, Max: hi, Step: step}
	}
	p.Groups = []views.FieldGroup{
		{
			Legend: "Training",
			Fields: []views.Field{
				num("epochs", "Epochs", "Passes over the training items. Each epoch is one frame of the animation.",
					strconv.Itoa(def.Epochs), "1", strconv.Itoa(trainer.MaxEpochs), "1"),
				num("batch", "Batch size", "Items per training step. Every item in a batch is compared with every other, so bigger batches see more negatives. At most the dataset's training items.",
					strconv.Itoa(def.Batch), "2", strconv.Itoa(maxTrain), "1"),
				num("lr", "Learning rate", "How big each step is. Too big and the loss explodes; too small and nothing moves.",
					formatFloat(def.LR), "0.000001", formatFloat(trainer.MaxLR-1e-6), "any"),
				{Name: "optimizer", Label: "Optimizer", Kind: views.FieldSelect,
					Help:    "How the gradient turns into a step. Adam adapts the step size per weight and is the safe choice.",
					Options: options(def.Optimizer, "sgd", "SGD with momentum", "adam", "Adam", "adamw", "AdamW (decoupled weight decay)")},
				num("momentum", "Momentum (SGD only)", "How much of the previous step SGD keeps, smoothing a zig-zag path.",
					formatFloat(def.Momentum), "0", "0.99", "0.01"),
				num("weight_decay", "Weight decay", "Pulls every weight gently towards zero, a guard against memorising the training items.",
					formatFloat(def.WeightDecay), "0", "0.99", "any"),
				{Name: "schedule", Label: "Learning-rate schedule", Kind: views.FieldSelect,
					Help:    "Constant keeps the rate; cosine lowers it smoothly to zero by the last epoch, which lets the picture settle.",
					Options: options(def.Schedule, "constant", "Constant", "cosine", "Cosine decay")},
				num("warmup", "Warm-up epochs", "Epochs over which the learning rate ramps up from zero, so the first big gradients do no harm.",
					strconv.Itoa(def.Warmup), "0", strconv.Itoa(trainer.MaxEpochs), "1"),
			},
		},
		{
			Legend: "Encoder",
			Help:   "A small neural network (a multi-layer perceptron) that turns each item into a vector of length one.",
			Fields: []views.Field{
				num("dim", "Embedding dimensions", "Length of the vector each item becomes. The picture is a 2-D or 3-D projection of it.",
					strconv.Itoa(def.Dim), strconv.Itoa(trainer.MinDim), strconv.Itoa(trainer.MaxDim), "1"),
				{Name: "hidden", Label: "Hidden layers", Kind: views.FieldText, Value: joinInts(def.Hidden),
					Help:        "Widths of the hidden layers, comma-separated (at most 4, each up to 4096); empty for a linear encoder.",
					Pattern:     `\s*(\d+\s*(,\s*\d+\s*){0,3})?`,
					Placeholder: "e.g. 256,128"},
				num("embed", "Embedding-bag width (text, listening histories)",
					"Sparse datasets start with a table holding one learned vector per word piece or track; this is its width. 0 uses the default, "+strconv.Itoa(trainer.DefaultEmbed)+".",
					"0", "0", strconv.Itoa(trainer.MaxEmbed), "1"),
				num("seed", "Random seed", "Same seed and settings, same result. Change it to see what is down to chance.",
					strconv.FormatUint(def.Seed, 10), "0", "", "1"),
			},
		},
		{
			Legend: "Loss settings",
			Help:   "Leave a field empty to use the chosen loss's default.",
			Fields: []views.Field{
				{Name: "margin", Label: "Margin (contrastive, triplet)", Kind: views.FieldNumber, Min: "0", Max: "2", Step: "any",
					Placeholder: "contrastive 1 · triplet 0.2",
					Help:        "Contrastive: how far apart a negative pair must be before the loss stops pushing it. Triplet: how much farther from the anchor the negative must be than the positive. Distances are on a sphere of diameter 2."},
				{Name: "temperature", Label: "Temperature (NT-Xent, SupCon)", Kind: views.FieldNumber, Min: "0.01", Max: "10", Step: "any",
					Placeholder: "NT-Xent 0.5 · SupCon 0.1",
					Help:        "Low values make the loss care mostly about the hardest negatives; high values treat all negatives alike."},
				{Name: "mining", Label: "Triplet mining", Kind: views.FieldSelect,
					Help: "Which triplets the triplet loss learns from. Hard triplets teach the most but can make training unstable.",
					Options: options("", "", "Default (semi-hard)", trainer.MiningAll, "All triplets that still violate the margin",
						trainer.MiningHard, "Hardest positive and negative per anchor", trainer.MiningSemiHard, "Semi-hard: negatives just beyond the positive")},
			},
		},
		{
			Legend: "Augmentation",
			Fields: []views.Field{
				num("augment", "Augmentation strength", "For pairs from distorted views (with or without labels): how strongly the two views of an item are distorted, from 0 (identical) to 1.",
					formatFloat(def.Augment), "0", "1", "0.05"),
			},
		},
		{
			Legend: "Projection",
			Help:   "How the embeddings are flattened into a picture. You can switch while watching.",
			Fields: []views.Field{
				{Name: "projection", Label: "Method", Kind: views.FieldSelect,
					Help:    "PCA is a fast linear view that keeps the big picture; t-SNE and UMAP are slower and show clusters more clearly, but distances between clusters mean little (UMAP keeps a little more of the global layout).",
					Options: options(defaultProjection, run.MethodPCA, "PCA", run.MethodTSNE, "t-SNE", run.MethodUMAP, "UMAP")},
				{Name: "dims", Label: "Dimensions", Kind: views.FieldSelect,
					Options: options("2", "2", "2D", "3", "3D (drag to turn)")},
			},
		},
	}
	return p, nil
}

// runModel builds the run page of r.
func runModel(r *runner.Run) views.RunPage {
	sum := r.Summary()
	cfg := sum.Config
	ds, precomputed := r.Dataset().Data, r.Dataset().Precomputed
	hidden := joinInts(cfg.Hidden)
	if hidden == "" {
		hidden = "none (linear encoder)"
	}
	rows := []views.ConfigItem{
		{Label: "Dataset", Value: ds.Title},
		{Label: "Loss", Value: cfg.Loss},
		{Label: "Pairs", Value: cfg.Pairs},
		{Label: "Epochs", Value: strconv.Itoa(cfg.Epochs)},
		{Label: "Batch size", Value: strconv.Itoa(cfg.Batch)},
		{Label: "Learning rate", Value: formatFloat(cfg.LR)},
		{Label: "Optimizer", Value: cfg.Optimizer},
		{Label: "Schedule", Value: cfg.Schedule},
		{Label: "Embedding dimensions", Value: strconv.Itoa(cfg.Dim)},
		{Label: "Hidden layers", Value: hidden},
		{Label: "Seed", Value: strconv.FormatUint(cfg.Seed, 10)},
	}
	switch cfg.Loss {
	case trainer.LossContrastive:
		rows = append(rows, views.ConfigItem{Label: "Margin", Value: formatFloat(cfg.Margin)})
	case trainer.LossTriplet:
		rows = append(rows, views.ConfigItem{Label: "Margin", Value: formatFloat(cfg.Margin)},
			views.ConfigItem{Label: "Mining", Value: cfg.Mining})
	default:
		rows = append(rows, views.ConfigItem{Label: "Temperature", Value: formatFloat(cfg.Temperature)})
	}
	if cfg.Pairs == trainer.PairsAugment || cfg.Pairs == trainer.PairsLabelsAugment {
		rows = append(rows, views.ConfigItem{Label: "Augmentation", Value: formatFloat(cfg.Augment)})
	}
	if ds.Sparse != nil {
		rows = append(rows, views.ConfigItem{Label: "Embedding-bag width", Value: strconv.Itoa(cfg.Embed)})
	}
	title := ds.Title + " · " + cfg.Loss
	if precomputed {
		title = ds.Title + " · precomputed embeddings"
		rows = []views.ConfigItem{
			{Label: "Dataset", Value: ds.Title},
			{Label: "Training", Value: "none: the uploaded vectors are shown as they are"},
			{Label: "Dimensions", Value: strconv.Itoa(ds.Dim)},
		}
	}
	return views.RunPage{
		ID:            r.ID(),
		Title:         title,
		WSURL:         "/ws/runs/" + r.ID(),
		Items:         ds.Len(),
		Epochs:        cfg.Epochs,
		State:         string(sum.State),
		QueuePosition: sum.QueuePosition,
		Method:        sum.Config.Projection,
		LossTitle:     lossTitle(cfg.Loss),
		LossNote:      lossNotes[cfg.Loss],
		Dims:          sum.Config.Dims,
		Config:        rows,
		Exports:       exportLinks(precomputed),
		Compare:       compareMenu(cfg.Config, precomputed),
	}
}

// compareMenu is the run page's Compare menu for a run of cfg: nil for
// finished embeddings.
func compareMenu(cfg trainer.Config, precomputed bool) *views.CompareMenu {
	if precomputed {
		return nil
	}
	m := &views.CompareMenu{}
	for _, c := range lossChoices {
		m.Losses = append(m.Losses, views.Option{Value: c.Value, Label: c.Title, Selected: c.Value == cfg.Loss})
	}
	for _, c := range pairChoices {
		m.Pairs = append(m.Pairs, views.Option{Value: c.Value, Label: c.Title, Selected: c.Value == cfg.Pairs})
	}
	if cfg.Temperature > 0 && (cfg.Loss == trainer.LossNTXent || cfg.Loss == trainer.LossSupCon) {
		m.Temperature = formatFloat(cfg.Temperature)
	}
	if cfg.Margin > 0 && (cfg.Loss == trainer.LossContrastive || cfg.Loss == trainer.LossTriplet) {
		m.Margin = formatFloat(cfg.Margin)
	}
	return m
}

// exportLinks is the run page's export menu: every export format, but
// the encoder for a run of finished embeddings, which has none.
func exportLinks(precomputed bool) []views.ExportLink {
	var out []views.ExportLink
	for _, f := range export.Formats {
		if precomputed && f.Name == export.ModelFormat {
			continue
		}
		out = append(out, views.ExportLink{Format: f.Name, Title: f.Title, PerEpoch: f.PerEpoch})
	}
	return out
}

// lossTitle is the home page's name of a loss.
func lossTitle(loss string) string {
	for _, c := range lossChoices {
		if c.Value == loss {
			return c.Title
		}
	}
	return loss
}

// formDefaults are the settings d's defaults change on the home page's
// form: "pairs", the default pair source, and "by_pairs", for each pair
// source d can make, the values of trainer.DefaultedFields by field name
// (an empty temperature is the loss's default). unusable is
// trainer.UnusablePairs(d).
func formDefaults(d *dataset.Dataset, unusable map[string]string) map[string]any {
	by := map[string]map[string]string{}
	for _, p := range trainer.PairModes {
		if unusable[p] != "" {
			continue
		}
		c := trainer.DefaultConfigForPairs(d, p)
		temperature := ""
		if c.Temperature != 0 {
			temperature = formatFloat(c.Temperature)
		}
		by[p] = map[string]string{
			"epochs": strconv.Itoa(c.Epochs), "batch": strconv.Itoa(c.Batch), "lr": formatFloat(c.LR),
			"schedule": c.Schedule, "temperature": temperature, "augment": formatFloat(c.Augment),
			"dim": strconv.Itoa(c.Dim), "hidden": joinInts(c.Hidden), "embed": strconv.Itoa(c.Embed),
		}
	}
	return map[string]any{"pairs": trainer.DefaultPairs(d), "by_pairs": by}
}
