"""Accuracy on an unlabeled set, predicted from the model's own outputs plus its labeled holdout.

All functions take calibrated probabilities (temperature fitted on the holdout) and return an accuracy in
[0, 1]. The families:
- AC: mean max-probability. Exact for a calibrated model, over-estimates under shift (models stay confident).
- DoC (Guillory et al. 2021): holdout accuracy minus the drop in average confidence.
- ATC (Garg et al. 2022): choose the score threshold t at which the share of holdout scores above t equals
  the holdout accuracy; predict the share of target scores above t. Scores: max-confidence (MC) or negative
  entropy (NE).
- Prior-aware ATC (ours, "ATC-NE-EM"/"ATC-NE-BBSE"): plain ATC drifts when class priors change, because its
  threshold is calibrated on the holdout's class mix. Under label shift the target's score distribution is the
  holdout's class-conditional score distributions mixed with the target priors q, and its accuracy is the
  same mixture of per-class recalls. So we re-weight every holdout image of class j by w_j = q_j / p_j
  (q estimated by EM or BBSE) before fitting the threshold: the weighted holdout then has exactly the target's
  score distribution and accuracy under pure label shift, and w = 1 recovers plain ATC under pure covariate
  shift.
- COT / COTT (Lu et al. 2023): optimal transport from the target's predicted probability vectors to the
  label distribution (one-hot labels with the holdout's priors, or priors estimated by EM), with cost
  ||p - e_y||_inf = 1 - p_y. When the predicted classes follow the priors this is 1 - AC; when a shift
  piles predictions onto a few classes (blur -> "frog"), mass must move to classes the model gave low
  probability, and the estimate drops. COTT thresholds the per-image transport cost like ATC.
- Shift-Gated (ours): COT is right when the pixels changed and the classes did not; prior-aware ATC is right
  when the class mix changed and the pixels did not. Which one happened is visible without labels: a
  domain classifier on image statistics, with the holdout re-weighted to the EM priors, separates the sets
  (AUC well above 0.5) only if the pixels changed. The estimate blends ATC-NE-EM (AUC <= 0.55) into COT
  (AUC >= 0.70) linearly in between, where the two estimators agree anyway (mild shifts).
- AC-EM: average confidence of the prior-corrected posteriors at the model's (uncorrected) prediction:
  the expected accuracy of the submitted labels if the model were calibrated for the new priors.
- Median-4 (ours): the median of Shift-Gated, CC-Synth, ATC-NE-EM and COTT (the mean of the middle two).
  They fail on different shifts (COTT under label shift, ATC-NE-EM under strong blur on a weak model,
  CC-Synth on corruption families it never saw, Shift-Gated when label shift and corruption come together),
  so the median drops any one failure. Adopted by a check written down before its held-out model was trained
  (``benchmarks/PREREGISTERED.md``).
- NucNorm (``nuclear_norm``): the prediction matrix's normalised nuclear norm, read as an accuracy off a line
  fitted on CC-Synth's pool; poor alone, a fifth member that fails differently.
- Median-5 (ours): the median of Median-4's members and NucNorm. Median-5-Spread, Median-5 lowered by the
  members' spread, replaced Median-4-Spread as recommended by check 15, written before its held-out families
  existed: 2.90 against 3.51 points MAE on them, and no worse on the benchmark (1.90 against 1.91); check 16's
  fresh families confirmed it (2.78 against 3.13).
- The reference estimators' benchmark figures below (generated sets, stand-in) are those of the measurement each
  decision read, on earlier instances of the four benchmark models (session 56's ``bench_bn_adapt.py --write``);
  ``measured_error.json`` holds session 63's, on their session-61 instances, which measured Ref-Hedge too
  (benchmarks/RESULTS.md, Session 63).
- Ref-EM (ours): a reference model's view of the submitted predictions. The reference is a copy of the model whose
  BatchNorm statistics were re-estimated, class-balanced, on the competition images (``bn_adapt``; ``predict``
  writes its logits beside a run's own, and an ensemble combines its members' as it combines their predictions);
  each image's submitted prediction is scored by the copy's probability for it, temperature-scaled on the holdout
  and prior-corrected by EM, and the mean is the estimate. Where the pixels
  moved the copy is the more accurate model, so its beliefs are a less shifted reference than the model's own
  confidence. Ref-Avg, its mean with Median-5-Spread, was recommended where it can be computed until check 30: checks
  21 and 22 found it closer on 144 held-out model-sets (2.30 against 2.98 points MAE), check 25 on 36 more with two
  better models (2.49 against 2.79); check 26 put COT-Gated ahead of it by a tenth of a point, checks 27 and 28
  put it back, and check 29 kept it ahead of Ref-EM where the class mix looks changed (1.66 against 1.78 over 72;
  ``HELD_OUT``). It is worse on the stand-in (4.43 against 2.55 over four models) and, with the 86-87% models, on
  corrupted sets whose class mix did not change (checks 23-25).
- Ref-Avg-Shrunk (ours): Ref-Avg lowered by ``REFERENCE_SHRINK`` of the drop it predicts, because Ref-Avg
  over-estimates large drops and not small ones (the share fitted on the benchmark's generated sets alone).
  Recommended where a run has a BatchNorm reference since pre-registered check 30, on a seventh round of held-out
  families (2.03 points MAE against Ref-Avg's 2.15 over 72 model-sets), confirmed by check 31 on an eighth (2.16
  against 2.33), kept against COT-Gated by check 32 on a ninth (4.38 against 4.66; Ref-Avg 4.82) and by check 33 on
  a tenth (3.02 against Ref-Avg's 3.39 and COT-Gated's 3.25; Median-5-Spread 2.93, not lower by the 0.10 the check
  asked), by check 34 on an eleventh (4.26; COT-Gated's 3.93 and Ref-Avg's 3.99 were lower there, not over the
  five rounds) and by check 35 on a twelfth (2.74; COT-Gated's 2.63 was lower there, not over the six). With
  checks 36's and 37's rounds, 3.10 against COT-Gated's 3.16 and Ref-Avg's 3.22 over the eight (``HELD_OUT``). It
  lost to Ref-Avg on the 8 of check 30's sets whose class mix changed too (3.52 against 3.27), on check 34's (6.68
  against 6.25), check 35's 16 (5.41 against 5.24), check 36's 16 (5.66 against 4.97) and check 37's (4.94 against
  4.91), not on check 31's, 32's or 33's: Ref-Prior quotes Ref-EM there instead. Like Ref-Avg it is worse than
  Median-5-Spread on the stand-in (3.99 against 2.55 over four models).
- Ref-Prior (ours): Ref-EM where the class mix looks changed, else Ref-Avg-Shrunk. The tell is COT's estimate on
  the BatchNorm reference moving by more than ``PRIOR_TELL`` when its target class mix is EM's priors: read on the
  adapted copy rather than on the trained logits (COT-Gated's tell), it opens on few corrupted-only sets, where
  Ref-EM is worse. Recommended where a run has a BatchNorm reference since pre-registered check 36, on a thirteenth
  round of held-out families (2.39 points MAE against Ref-Avg-Shrunk's 2.93 over 80 model-sets; 2.97 against 5.66 on
  the 16 whose class mix changed too, equal on the other 64, where the tell never opened), kept by check 37 on a
  fourteenth (3.30 against 3.34), by check 38 on a fifteenth (3.28 against 2.98: the tell cost it 4.48 against 3.24
  on the 16 with changed priors) and by check 39 on a sixteenth (3.47 against 3.42). On check 40's seventeenth 2.43
  against 1.91, on check 41's eighteenth 2.20 against 2.27, on check 42's nineteenth 1.71 against 1.87, on check
  43's twentieth 2.77 against 2.68, on check 44's twenty-first 1.55 against 1.86, and over the nine rounds it leads
  again, 2.57 against 2.58 (``HELD_OUT``).
  Over rounds 30-37, 2.90 against 3.10, though its threshold was chosen on 21-35. It quotes Ref-Avg-Shrunk's range
  (``RANGE_LENDER``). Since check 38, Ref-Mix (since check 40 Ref-Split, since check 41 Ref-Sep) quotes it where a set
  does not look like a mixture.
  On the benchmark's generated sets (``bench_bn_adapt.py --write``: 92 model-sets of four models) 1.88 points MAE
  against Ref-Avg-Shrunk's 1.77 and Median-5-Spread's 1.98; on the stand-in 3.99, as Ref-Avg-Shrunk.
- Ref-Mix (ours, recommended after checks 38 and 39): COTT where a share of at least ``MIX_SHARE`` of the
  competition images looks like the holdout (``domain.holdout_like_share``, read on the trained logits) while
  Ref-Prior predicts a drop of at least ``MIX_DROP``, else Ref-Prior. Such a set is a mixture: a share of its
  images broken, the rest as before (rotated, marked or cropped photos among good ones). There Ref-Prior
  over-estimated by 4 to 8 points, Ref-EM most, over the 1,032 held-out model-sets of checks 21-37, while it was
  nearly unbiased where every image changed; COTT, which thresholds each image's transport cost, was the least biased
  on mixtures. On check 38's fifteenth round, which pairs four changes made on every image with the same in full on a
  share: 2.71 against Ref-Prior's 3.28 over 80 model-sets, equal (2.72) on the 40 that change every image; the gate
  opened on all 32 share-family covariate sets with a predicted drop of 3 points or more and on none of their
  partners'. Check 39's sixteenth round, built the same way: 2.78 against 3.47 (2.08 against 2.06 where every image
  changed; the gate opened on 32 of 32 and on 3 of the partners' 32). Check 40's seventeenth: 1.89 against 2.43
  (1.07 against 1.06; 26 of 26 and 9 of the partners' 25). Check 41's eighteenth: 1.93 against 2.20; check 42's
  nineteenth: 1.32 against 1.71; check 43's twentieth: 2.14 against 2.77; check 44's: 1.45 against 1.55. Over the
  seven rounds 2.03 against 2.49 (``HELD_OUT``).
  Where its gate opened it still over-estimated, by 2.78 points on average on round 39 and 1.27 on round 40. On the
  benchmark's generated sets 1.86 (the gate opened on colour-4 alone, for each model), and on the
  stand-in 3.31 against Ref-Prior's 3.99 (it opened for resnet9q_e4, which read 43% holdout-like; 30-34% for the
  others), never chosen on either.
- Ref-Split (ours, recommended after pre-registered check 40): Ref-Mix, except that where its gate opens
  COTT is read on the images that look like the holdout and on the rest apart (``domain.holdout_like_split``), each
  weighted by its share (``split_cott``). Transport over a whole mixture carries the broken images' costs onto the
  unchanged ones: on checks 33-38's 113 gated model-sets Ref-Mix over-estimated by 1.56 points on average (2.13 MAE),
  the split read 1.72 (-0.11 on average); over all 464, 2.39 against 2.49 (lower on four of the six rounds, higher on
  36 and 37). On the benchmark's generated sets it was worse, 1.94 against 1.86: on colour-4, a mild change of every
  image that opens the gate, COTT on the whole set was within half a point and the split read 0.9 to 3.3 points low.
  On the stand-in 3.08 against 3.31 (its gate opened for resnet9q_e4: 0.2 points off against 1.1). Check 39's
  sixteenth round, which no choice had read: 2.43 against Ref-Mix's 2.78 over 80 model-sets (0.10 lower asked) and
  2.10 against 2.87 on the 36 where the gate opened (mean signed +0.79 against +2.78), but 2.26 against 2.08 over the
  40 of the families that change every image (no more than 0.10 higher allowed): the gate opened on three of them
  (double_exposure-2, a faint second image laid over every photo), where the split read 2.4 to 3.7 points low and COTT
  on the whole set was within 1.5, as on the benchmark's colour-4. Check 40 asked again on a seventeenth round:
  1.75 against 1.89 over 80 (0.14 lower) and 1.15 against 1.07 over the 40 that change every image (0.08 higher,
  within the 0.10 allowed). The gate opened on 9 of those 40's 25 covariate sets with a predicted drop (colour_transfer
  and fourier_style, 44-76% holdout-like), where the split read 0.3 to 0.8 points low on average. Where it opened,
  1.33 against 1.66 (mean signed +0.26 against +1.27). Over rounds 39 and 40, 2.09 against 2.34. It quotes
  Ref-Avg-Shrunk's range, as Ref-Mix did (``RANGE_LENDER``). Check 41's eighteenth round put Ref-Sep ahead of it;
  over rounds 40-44, 1.69 against Ref-Mix's 1.75 (``HELD_OUT``).
- Ref-Blend (ours, a candidate, not adopted by pre-registered check 40): Ref-Mix, except that where its gate opens it
  quotes the mean of COTT on the whole set and Ref-Split's reading (``ref_blend``). Neither side of the gate's mistakes
  is known when it opens: on a true mixture COTT over-estimates and the split is nearly unbiased, on a mild change of
  every image that opens it (colour-4, double_exposure-2) the split reads low and COTT is close. The mean halves the
  worse error of the two and keeps half of the split's gain. Post hoc on checks 33-39's 544 held-out model-sets: 2.41
  points MAE against Ref-Split's 2.40 and Ref-Mix's 2.53 (1.86, 1.81 and 2.31 on the 149 gated), below Ref-Mix on five
  of the seven rounds and within 0.02 of it on the other two; on round 39's 40 every-image sets 2.16 against Ref-Mix's
  2.08. On the benchmark's generated sets 1.89 (Ref-Mix 1.86, Ref-Split 1.94), on the stand-in 3.19 (3.31, 3.08). Check
  40's seventeenth round: 1.82 against Ref-Mix's 1.89 (0.10 lower asked) and Ref-Split's 1.75, and 1.11 where every
  image changed: the split's misses there were smaller than on round 39, so the hedge gave up more than it saved.
- Ref-Sep (ours, recommended since pre-registered check 41): Ref-Split, except that where the gate opens but the two
  parts the split finds score close together (``domain.HoldoutLike.separation`` below ``SPLIT_SEPARATION``) it quotes
  COTT on the whole set, as Ref-Mix does. On a true mixture the broken images stand apart from the unchanged ones;
  on a mild change of every image that opens the gate (the false opens where the split reads low) they do not. Post
  hoc on checks 33-40's 624 held-out model-sets 2.28 points MAE against Ref-Split's 2.31 (1.31 against 2.17 on the 27
  where the two differ); on the benchmark's generated sets 1.86 (Ref-Split 1.94), on the stand-in 3.08 (3.08). Check
  41's eighteenth round, which no choice had read: 1.79 against Ref-Split's 1.92 over 80 model-sets (not higher
  asked), and 0.70 against 1.43 on the 14 where the two differed (0.30 lower asked): 0.64 against 1.72 where the
  gate opened on a change of every image, 0.77 against 1.13 where it opened on a mild change of a share. Check 42
  asked a nineteenth round whether it keeps that error, with a rule that could put Ref-Split back: 1.28 against
  Ref-Split's 1.25 over 80 (no more than 0.10 higher allowed), the lowest round yet; the gate opened on 28, on no
  family that changes every image, and the two differed on 2 (a mild mirror image laid over a share, where the split
  was the closer). On check 43's twentieth round 1.93 against 2.18 (that check put Ref-Hedge ahead of it), on check
  44's 1.24 against 1.37, and over rounds 41-44 1.56 against 1.68 (``HELD_OUT``). It quotes Ref-Avg-Shrunk's range, as
  Ref-Split did (``RANGE_LENDER``).
- Ref-Hedge (ours, recommended since pre-registered check 43): Ref-Sep, except that where Ref-Prior's tell opens it
  reads ``PRIOR_HEDGE`` (three quarters) of Ref-EM and a quarter of Ref-Avg-Shrunk in Ref-Prior's place, in the gate's
  predicted drop as where it quotes it (``hedged_prior``). The tell opens on a changed class mix, where Ref-EM,
  prior-corrected, is the closer, but also where a share of the images is broken and the class mix changed, where EM
  takes the broken share for a class mix and Ref-Avg-Shrunk was the closer on all 15 such model-sets of checks 36-41.
  Post hoc on checks 33-41, 2.17 points MAE against Ref-Sep's 2.18 on 703 model-sets; recorded as prediction 42e before
  round 42 existed, where it read 1.15 against 1.28; check 43's twentieth round, which adopted it: 1.83 against 1.93
  over 80 model-sets (the two differed on 11, 3.84 against 4.62 there, Ref-Hedge the closer on 10). Check 44's round:
  1.28 against 1.24, where a change of class mix alone (colour_shading with changed priors, images barely changed) cost
  the hedge 3.0 to 3.5 points on three model-sets where Ref-EM was within 1.5. Check 45's: 4.32 against 4.69, where the
  tell opened on seven sets whose class mix had not changed. Check 46's: 2.74 against 2.77. Check 47's: 2.54 against
  2.61. Check 48's: 2.77 against 2.98. Check 49's: 1.83 against 1.77. Check 50's: 2.39 against 2.52. Check 51's: 1.61
  against 1.70. Check 52's: 1.66 against 1.79. Check 53's: 2.60 against 2.69. Check 54's: 2.12 against 2.23. Check 55's:
  1.81 against 1.77. Over rounds 42 to 55, 2.19 against 2.28 (``HELD_OUT``). Its range is Ref-Avg-Shrunk's taken out to
  its estimate (``RANGE_LENDER``), which quotes less of Ref-EM than Ref-Sep's did: it held on 752 of checks 33-43's 863
  model-sets where Ref-Sep's held on 772. Check 44 asked whether to take it out to Ref-EM as well: on round 44 that held
  on no more (70 of 80 both), so it was not. On the benchmark (session 63's ``--write``, 92 generated model-sets of four
  models): 1.85 points MAE against Ref-Sep's 1.91 and Ref-Avg-Shrunk's 1.82, differing from Ref-Sep on the 15 with
  changed priors where the tell opened; 0.62 against 0.63 where only the class mix changed, whose sets cannot show the
  hedge's cost (Ref-EM and Ref-Avg-Shrunk agree there within a point), and 3.33 against 3.82 where a corruption came
  with it. On the stand-in 4.06, as Ref-Sep (the tell never opens there).
- Ref-Parts (ours, recommended from pre-registered check 45 until check 47 put Ref-Doubt ahead): Ref-Hedge, except where
  Ref-Prior's tell opens and Ref-Hedge's gate stays shut (``looks_again``). There a changed class mix alone tells the
  competition images from the holdout, so a set of which a share broke reads as one whose every image changed and the
  holdout-like share reads low. Ref-Parts reads the share again with the holdout re-weighted to EM's priors, and where
  that opens the gate quotes ATC-NE-EM read on the holdout-like part and on the rest apart, each with its own EM priors,
  weighted by the share (``parts_atc_em``): COTT and the split, which Ref-Hedge reads where its gate opens, are not
  prior-corrected. Chosen post hoc on rounds 43-44 (1.41 against Ref-Hedge's 1.55 over 160, 11 differing); check 45's
  twenty-second round adopted it: 4.27 against 4.32 over 80 model-sets, the two differing on 8 (all "_some" sets with
  changed priors), 2.64 against 3.12 there, Ref-Parts the closer on 6. On that round Median-5-Spread (3.94) and
  Ref-Avg-Shrunk (4.05) were lower: Ref-Prior's tell opened on seven model-sets whose class mix had not changed
  (cross-stitch on a share of the images, which the BatchNorm-adapted copy read as well as the rest), and there both
  Ref-Hedge and Ref-Parts read 15 points high. It changes none of the benchmark's 92 generated model-sets or the
  stand-in (session 63), so its benchmark figures are Ref-Hedge's. Its range is Ref-Avg-Shrunk's reaching at least 2
  points either side of its estimate (``RANGE_LENDER``, ``RANGE_MARGIN``: check 47). Check 46's twenty-third round:
  2.74, as Ref-Hedge (it looked again on 7 and read the parts on none), Ref-Avg-Shrunk 4.27. Check 47's: 2.49 against
  Ref-Hedge's 2.54 (it read the parts on 2); check 48's: 2.68 against 2.77 (it read the parts on 1); check 49's: 1.83
  both (it read the parts on none); check 50's: 2.38 against 2.39 (it read the parts on 4); check 51's: 1.66 against
  1.61 (it read the parts on 2, and was the farther on both); check 52's: 1.63 against 1.66 (it read the parts on 2);
  check 53's: 2.55 against 2.60 (it read the parts on 3); check 54's: 2.09 against 2.12 (it read the parts on 2); check
  55's: 1.81 both (it read the parts on none); over rounds 45 to 55, 2.37 against 2.40 (``HELD_OUT``).
- Ref-Doubt (ours, recommended since pre-registered check 47): Ref-Parts, except where Ref-Prior's tell opens and COTT's
  predicted drop opens Ref-Hedge's gate while the hedged Ref-Prior's does not (``doubts_adapted``), where it quotes
  COTT: the tell also opens where a share of the images broke without a changed class mix, if the BatchNorm-adapted copy
  reads that share as confidently as the model. Chosen post hoc on round 45 (4 of checks 33-45's 951 model-sets changed,
  23.74 points off to 0.80). Check 46 decided nothing: on its round the two differed on 1 of 80 (3 asked), where
  Ref-Doubt was the closer (1.5 points off against 10.4), 2.63 against 2.74 over the 80. Check 47's rule 47b, pooled
  over rounds 46 and 47, held: 2.33 against 2.61 over 160, the two differing on 3 (round 47's pointillism_some for
  weak_cnn: 1.6 and 2.0 points off against 10.1 and 29.0), Ref-Doubt the closer on all 3; session 67 built it into
  ``estimate_all``, ``PREFERRED`` and the report. Check 48's rule 48a kept it on a twenty-fifth round: 2.55 against 2.68
  over its 80 (they differed on 1, resnet9q_ls's thermal_some-2, 1.3 points off against 11.9), over rounds 46 to 48 2.40
  against 2.63. Check 49's rule 49a kept it on a twenty-sixth round, where the two differed on none (1.83 over its 80);
  over rounds 46 to 49, 2.26 against 2.43. Check 50's rule 50a kept it on a twenty-seventh round, again the same on
  every model-set (2.38); over rounds 46 to 50, 2.28 against 2.42. Check 51's rule 51a kept it on a twenty-eighth round,
  the same again on every model-set (1.66); over rounds 46 to 51, 2.18 against 2.30. Check 52's rule 52a kept it on a
  twenty-ninth round, the same again on every model-set (1.63); over rounds 46 to 52, 2.10 against 2.20. On check 53's
  thirtieth round, 2.27 against 2.55, the two differing on 2 (resnet9q's and resnet9q_ls's tie_dye_some-2, where the
  tell opened without a changed class mix: 0.6 and 1.0 points off against 11.7 and 12.2); over rounds 46 to 53, 2.12
  against 2.24. On check 54's thirty-first round, the same on every model-set (2.09), and on check 55's (1.81); over
  rounds 46 to 55, 2.09 against 2.18 (``HELD_OUT``). Where a share of the images broke and the class mix changed it has
  read high (+7.2 and +7.4 points on rounds 48's and 49's 8 such model-sets, as checks 48 and 49 predicted), though not
  on round 50's (-2.1 on average, 4.5 points off: bricks_some left few images holdout-like, e_ink_some read low), high
  again on round 51's (+3.0, all 8 high), near right on round 52's (+0.7, 1.8 points off), high again on round 53's
  (+5.5, 5.8 points off; 14.8 and 15.6 on two resnets' tie_dye_some with long-tail priors), and on round 54's (+2.4, 3.9
  points off: about 5 high on each model's flooded_some with Dirichlet priors, 6.1 low on weak_cnn's bokeh_some), and on
  round 55's (+2.6, 2.7 points off: 6.2 and 6.9 high on weak_cnn's and resnet9q's shredded_some with long-tail priors).
  Its range is Ref-Parts': Ref-Avg-Shrunk's, reaching at least ``RANGE_MARGIN`` either side of its estimate.
- Ref-Stack (ours, recommended since pre-registered check 52): Ref-Doubt moved by what small boosted trees predict its
  error to be, from Ref-Doubt's distance to twelve other estimates, its predicted drop and the holdout-like share,
  learned on every labelled held-out model-set of checks 33 on (``ref_stack``). Check 52's rule 52s adopted it on a
  round written after its trees were fitted: 1.55 against Ref-Doubt's 1.63 over 80, all of the gain weak_cnn's (2.55
  against 3.20; 1.22 against 1.10 on the three stronger models). Check 53's rule 53a kept it on the next round, read
  with the trees refitted on round 52: 1.90 against 2.27 (1.76 against 2.00 on the three stronger models); over
  rounds 52-53, 1.73 against 1.95 (1.49 against 1.55 on the stronger models' 120). Check 54's rule 54a kept it on a
  third round, read with the trees refitted on round 53: 1.83 against 2.09, lower on each of the four models (1.34
  against 1.42 on the three stronger ones) but higher where every image and the class mix changed (3.79 against 3.11
  over 8), as on rounds 52 and 53; over rounds 52-54, 1.76 against 2.00 (1.44 against 1.51 on the stronger models'
  180). Check 55's rule 55s kept it on a fourth round, read with the trees refitted on round 54: 1.61 against 1.81
  (1.42 against 1.53 on the three stronger models), higher again where every image and the class mix changed (4.86
  against 4.57 over 8); over rounds 52-55, 1.72 against 1.95 (1.43 against 1.51 on the stronger models' 240). Its
  range is Ref-Doubt's (``RANGE_LENDER``).
- Ref-Stack-Gated (ours, recommended since pre-registered check 55): Ref-Stack, but Ref-Doubt where Ref-Prior's tell
  opens and under ``STACK_GATE_LIKE`` of the competition images look like the holdout (``stack_doubted``): mostly
  every image changed with the class mix, where the trees have moved Ref-Doubt the wrong way. Found post hoc by session
  72; check 55's rule 55a adopted it on the two rounds it had not seen: 1.70 against Ref-Stack's 1.72 over rounds
  54-55's 160 (open on 12), 1.607 against 1.613 on round 55 (open on 5). Its range is Ref-Doubt's (``RANGE_LENDER``).
- COT-Gated (ours): Ref-Avg where the class mix looks changed, else Median-5-Spread. The tell is COT's estimate
  moving by more than ``COT_GATE`` when its target class mix is EM's priors instead of the holdout's. Check 26 made it
  the recommendation (1.77 points MAE against Median-5-Spread's 1.87 and Ref-Avg's 1.86 over 72 held-out model-sets);
  check 27 kept it narrowly (2.79 against Ref-Avg's 2.84 over 36), check 28's fifth round did not (3.17 against 2.73
  over 72: the reference gained on corrupted-only sets too, where the gate stays shut), so it is a row.
- Agreement (ensembles): members' pairwise agreement on the target versus the holdout, carried over to
  accuracy on the probit scale ("agreement on the line", Baek et al. 2022).
- CC-Synth (``synthetic``): a correctness classifier trained on the holdout corrupted by every shift family,
  fed confidence and image statistics; needs the model's logits on those corruptions. Its clean-holdout offset
  is scaled by 1 - the Shift-Gated gate weight (see ``synthetic``). (Its EM-re-weighted
  variant measured 6.8 points MAE against 3.2 and was dropped.)
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import combinations
from typing import Mapping, Sequence

import numpy as np
from scipy.special import log_softmax
from scipy.stats import norm

from kaggle_kit.calibration import calibrated_probs, fit_temperature
from kaggle_kit.gap import label_shift, ref_stack
from kaggle_kit.gap.calibration import bcts_probs, fit_bcts
from kaggle_kit.text import and_list, percent


def max_confidence(probs: np.ndarray) -> np.ndarray:
    return probs.max(1)


def negative_entropy(probs: np.ndarray) -> np.ndarray:
    return (probs * np.log(np.clip(probs, 1e-300, None))).sum(1)


def entropy(probs: np.ndarray) -> np.ndarray:
    return -negative_entropy(probs)


SCORES = {"mc": max_confidence, "ne": negative_entropy}


def average_confidence(target_probs: np.ndarray) -> float:
    return float(max_confidence(target_probs).mean())


def doc(source_probs: np.ndarray, source_labels: np.ndarray, target_probs: np.ndarray) -> float:
    """Difference of confidences: holdout accuracy - (holdout confidence - target confidence)."""
    acc = float((source_probs.argmax(1) == source_labels).mean())
    return float(np.clip(acc - (average_confidence(source_probs) - average_confidence(target_probs)), 0.0, 1.0))


def atc_cut(scores: np.ndarray, correct: np.ndarray, weights: np.ndarray | None = None) -> tuple[float, float]:
    """Threshold t with weighted share of ``scores > t`` equal to the weighted accuracy, and the share
    ``gamma`` of the scores equal to t to count as above it.

    ``gamma`` is 0 unless t falls inside a run of tied scores (every max-probability 1.0 of a model whose logits
    temperature scaling cannot soften, identical logits): counting none of a tie made ATC 0% on such a model,
    so a tie is split so that the holdout's share above is its accuracy, as breaking ties at random would.
    At 0% accuracy t is the top score, so none is above it (the search below would stop at the top one and leave
    1/n above it); at 100% t is just under the lowest, so all are."""
    w = np.ones(len(scores)) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    acc = float((w * correct).sum())
    order = np.argsort(-scores, kind="stable")
    s, cum = scores[order], np.cumsum(w[order])
    if acc <= 1e-12:
        return float(s[0]), 0.0
    k = min(int(np.searchsorted(cum, acc - 1e-12)), len(s) - 1)  # first index where the share above reaches acc
    tie = s[k] == s[k + 1] if k < len(s) - 1 else len(s) > 1 and s[k] == s[k - 1] and acc < cum[-1] - 1e-12
    if not tie:
        return (float(s[-1]) - 1e-12 if k == len(s) - 1 else float(0.5 * (s[k] + s[k + 1]))), 0.0
    t = float(s[k])
    above, tied = float(w[scores > t].sum()), float(w[scores == t].sum())
    return t, float(np.clip((acc - above) / tied, 0.0, 1.0))


def atc_threshold(scores: np.ndarray, correct: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Threshold t with weighted share of ``scores > t`` equal to the weighted accuracy (ties: ``atc_cut``)."""
    return atc_cut(scores, correct, weights)[0]


def share_above(target_scores: np.ndarray, cut: tuple[float, float]) -> float:
    """Share of ``target_scores`` above an ``atc_cut``, ``gamma`` of those equal to its threshold included."""
    t, gamma = cut
    above = float((target_scores > t).mean())
    return above + gamma * float((target_scores == t).mean()) if gamma else above


def atc(source_scores: np.ndarray, source_correct: np.ndarray, target_scores: np.ndarray,
        source_weights: np.ndarray | None = None) -> float:
    return share_above(target_scores, atc_cut(source_scores, source_correct, source_weights))


def atc_probs(source_probs: np.ndarray, source_labels: np.ndarray, target_probs: np.ndarray,
              score: str = "ne", target_priors: np.ndarray | None = None) -> float:
    """ATC from probabilities; with ``target_priors`` the holdout is re-weighted to those priors first."""
    fn = SCORES[score]
    correct = source_probs.argmax(1) == source_labels
    weights = None
    if target_priors is not None:
        p = label_shift.class_priors(source_labels, source_probs.shape[1])
        weights = (np.asarray(target_priors) / np.maximum(p, 1e-12))[source_labels]
    return atc(fn(source_probs), correct, fn(target_probs), weights)


def transport_costs(probs: np.ndarray, priors: np.ndarray) -> np.ndarray:
    """Per-image cost of the optimal plan sending image masses 1/n to classes with masses ``priors``."""
    import ot  # POT: exact network-simplex transport; imported lazily (only the gap report needs it)

    n = len(probs)
    cost = 1.0 - np.asarray(probs, dtype=np.float64)
    b = np.asarray(priors, dtype=np.float64)
    b = b / b.sum()
    plan = ot.emd(np.full(n, 1.0 / n), b, cost, numItermax=10_000_000)
    return (plan * cost).sum(1) * n


def cot(target_probs: np.ndarray, priors: np.ndarray, target_costs: np.ndarray | None = None) -> float:
    """1 - the mean transport cost from the predictions to the label distribution ``priors``.

    ``target_costs``: ``transport_costs(target_probs, priors)`` if already computed (COTT shares them)."""
    costs = transport_costs(target_probs, priors) if target_costs is None else target_costs
    return float(np.clip(1.0 - costs.mean(), 0.0, 1.0))


def cott(source_probs: np.ndarray, source_labels: np.ndarray, target_probs: np.ndarray,
         target_priors: np.ndarray | None = None, target_costs: np.ndarray | None = None) -> float:
    """Share of target images whose transport cost is under the holdout-fitted ATC threshold."""
    c = source_probs.shape[1]
    p = label_shift.class_priors(source_labels, c)
    src_cost = transport_costs(source_probs, p)
    correct = source_probs.argmax(1) == source_labels
    cut = atc_cut(-src_cost, correct)
    if target_costs is None:
        target_costs = transport_costs(target_probs, p if target_priors is None else target_priors)
    return share_above(-target_costs, cut)


def gate_weight(domain_auc: float, gate: tuple[float, float] | None = None) -> float:
    """How clearly the pixels changed: 0 at or below ``GATE_AUC[0]``, 1 at or above ``GATE_AUC[1]``."""
    lo, hi = GATE_AUC if gate is None else gate
    return float(np.clip((domain_auc - lo) / (hi - lo), 0.0, 1.0))


def gated(label_shift_estimate: float, covariate_estimate: float, domain_auc: float,
          gate: tuple[float, float] | None = None) -> float:
    """Blend of the two estimates by how separable the pixels are (``GATE_AUC``)."""
    lam = gate_weight(domain_auc, gate)
    return (1.0 - lam) * label_shift_estimate + lam * covariate_estimate


def prior_adjusted_confidence(target_probs: np.ndarray, source_priors: np.ndarray,
                              target_priors: np.ndarray) -> float:
    """Mean prior-corrected probability of the class the model actually predicts."""
    adj = label_shift.adjust_probs(target_probs, source_priors, target_priors)
    return float(adj[np.arange(len(adj)), target_probs.argmax(1)].mean())


def agreement(member_preds: Sequence[np.ndarray]) -> float:
    """Mean pairwise share of images on which two members predict the same class."""
    pairs = list(combinations(range(len(member_preds)), 2))
    if not pairs:
        raise ValueError("agreement needs at least two members")
    return float(np.mean([(member_preds[a] == member_preds[b]).mean() for a, b in pairs]))


# Why ``agreement_line`` gave no estimate (``AgreementLine.reason``; the report words each)
HOLDOUT_ALL_RIGHT, HOLDOUT_NONE_RIGHT, NO_PAIR_LEFT = "holdout all right", "holdout none right", "no pair left"


@dataclass(frozen=True)
class AgreementLine:
    """``agreement_line``'s answer: the estimate, or None and the reason, so that whoever says why reads it here."""
    estimate: float | None
    reason: str | None = None  # None with an estimate, else HOLDOUT_ALL_RIGHT, HOLDOUT_NONE_RIGHT or NO_PAIR_LEFT


def agreement_on_the_line(source_acc: float, source_member_preds: Sequence[np.ndarray],
                          target_member_preds: Sequence[np.ndarray]) -> float | None:
    """``agreement_line``'s estimate alone (None: no estimate; its ``reason`` says why)."""
    return agreement_line(source_acc, source_member_preds, target_member_preds).estimate


def agreement_line(source_acc: float, source_member_preds: Sequence[np.ndarray],
                   target_member_preds: Sequence[np.ndarray]) -> AgreementLine:
    """Probit(acc_t) = a * probit(acc_s) + b, with (a, b) fitted on member pairs' agreements (a = 1 for 2 members).

    Accuracy and agreement shift along the same line in probit space under distribution shift, so the
    observed move in agreement (which needs no labels) transfers to accuracy. A pair that agrees on all (or none)
    of either set's images has an infinite probit: it is left out (clipped to 99.99%, a pair agreeing on every
    holdout image moving to 95% predicted 18% from a 90% holdout), and with no pair left there is no estimate
    (``NO_PAIR_LEFT``). Nor is there for a ``source_acc`` of exactly 1 (or 0), possible on a small holdout
    (``HOLDOUT_ALL_RIGHT``, ``HOLDOUT_NONE_RIGHT``): clipped to 99.99% it gave 99.96% whatever the pairs' move, a
    number set by the clip alone.
    """
    eps = 1e-4
    pairs = list(combinations(range(len(source_member_preds)), 2))
    if not pairs:
        raise ValueError("agreement needs at least two members")
    if not 0.0 < source_acc < 1.0:
        return AgreementLine(None, HOLDOUT_ALL_RIGHT if source_acc >= 1.0 else HOLDOUT_NONE_RIGHT)
    shares = [((source_member_preds[a] == source_member_preds[b]).mean(),
               (target_member_preds[a] == target_member_preds[b]).mean()) for a, b in pairs]
    shares = np.array([(s, t) for s, t in shares if 0.0 < s < 1.0 and 0.0 < t < 1.0]).reshape(-1, 2)
    if not len(shares):
        return AgreementLine(None, NO_PAIR_LEFT)
    xs, ys = norm.ppf(shares[:, 0]), norm.ppf(shares[:, 1])
    if len(shares) >= 3 and np.ptp(xs) > 1e-3:
        slope, intercept = np.polyfit(xs, ys, 1)
    else:
        slope, intercept = 1.0, float(np.mean(ys - xs))
    return AgreementLine(float(norm.cdf(slope * norm.ppf(np.clip(source_acc, eps, 1 - eps)) + intercept)))


# those that need a reference model's logits on the target images
REFERENCE_ESTIMATORS = ("Ref-EM", "Ref-Avg", "COT-Gated", "Ref-Avg-Shrunk", "Ref-Prior", "Ref-Mix", "Ref-Split",
                        "Ref-Blend", "Ref-Sep", "Ref-Hedge", "Ref-Parts", "Ref-Doubt")
# Learned, not gated (``ref_stack``, adopted by pre-registered check 52): computed wherever Ref-Doubt is, from the
# result's other estimates, and saved in the benchmark's rows as each check's run read it (``heldout_stack.csv``);
# and Ref-Stack gated back to Ref-Doubt (``ref_stack_gated``, adopted by check 55), wherever Ref-Stack is
LEARNED_ESTIMATORS = ("Ref-Stack", "Ref-Stack-Gated")
NEEDS_REFERENCE = (*REFERENCE_ESTIMATORS, *LEARNED_ESTIMATORS)  # none of these without a BatchNorm reference
ESTIMATORS = ("AC", "DoC", "ATC-MC", "ATC-NE", "AC-EM", "ATC-NE-BBSE", "ATC-NE-EM", "COT", "COT-EM", "COTT",
              "Shift-Gated", "CC-Synth", "Median-4", "Median-4-Spread", "NucNorm", "Median-5", "Median-5-Spread",
              *REFERENCE_ESTIMATORS, *LEARNED_ESTIMATORS)
# What ``estimate_all`` computes from logits alone (no images, no weights): the upload step's fallback
LOGITS_ONLY = ESTIMATORS[:10]
MEDIAN_MEMBERS = ("Shift-Gated", "CC-Synth", "ATC-NE-EM", "COTT")
MEDIAN_5_MEMBERS = (*MEDIAN_MEMBERS, "NucNorm")
MEDIANS = {"Median-4": MEDIAN_MEMBERS, "Median-5": MEDIAN_5_MEMBERS}  # each combined median and its members
# The median the report's expected range is centred on, with its measured error (``expected_range``)
RANGE_MEDIAN = "Median-5"
GATE_AUC = (0.55, 0.70)  # reweighted domain AUC: all ATC-NE-EM at or below the first, all COT from the second
# Every estimator over-estimates shifts it was not built around, and then its members disagree: the range of
# these three (COTT left out: it is far off on pure label shift, where they agree) lowers Median-4 by
# SPREAD_PENALTY of it and widens the report's range downwards (pre-registered check 5, benchmarks/PREREGISTERED.md).
SPREAD_MEMBERS = ("Shift-Gated", "CC-Synth", "ATC-NE-EM")
SPREAD_PENALTY = 0.2
# Used only when measured_error.json is missing: otherwise the estimator with the lowest measured MAE among
# those that could be computed is recommended (``recommended_estimator``).
RECOMMENDED = "ATC-MC"
# Recommended whenever computed and measured, the first of them that is, whether or not another has a lower benchmark
# MAE. Median-5-Spread: check 5 chose the spread penalty for its error on shift families outside the benchmark (3.93
# vs 4.99 points over 72 held-out model-sets), check 15 the fifth member (2.90 vs 3.51 over 72 more, on families
# written down before the test), and check 16 confirmed it on a round no decision had seen (2.78 vs 3.13 over 72).
# Ref-Stack-Gated, ahead of it where a run has a BatchNorm reference: checks 54 and 55, the rounds its gate had not seen
# (rule 55a), and Ref-Stack, which it gates, behind it: checks 52 to 55, each read with the trees fitted before
# it (rules 52s, 53a, 54a and 55s), and Ref-Doubt, on which it is built, behind it: ``HELD_OUT``'s checks 46 to 55
# (before it Ref-Parts, by check 45, Ref-Hedge, by checks 42 to 44, Ref-Sep, by checks 41 and 42, Ref-Split, by check
# 40, Ref-Mix, by checks 38 and 39, Ref-Prior, by checks 36 and 37, Ref-Avg-Shrunk, by checks 30 to 35, and Ref-Avg, by
# checks 26-29, which COT-Gated lost). Each older one where a result predates the one before it in this list,
# Ref-Avg-Shrunk where a run's errors file predates Ref-Prior.
PREFERRED = ("Ref-Stack-Gated", "Ref-Stack", "Ref-Doubt", "Ref-Parts", "Ref-Hedge", "Ref-Sep", "Ref-Split", "Ref-Mix",
             "Ref-Prior", "Ref-Avg-Shrunk", "Median-5-Spread")
REFERENCE_PARTNER = "Median-5-Spread"  # what Ref-Avg averages Ref-EM with
# COT-Gated quotes Ref-Avg only where COT's estimate moves by more than this (accuracy fraction: 5 points) when its
# target class mix is EM's priors instead of the holdout's: the sets whose class mix changed, where Ref-Avg gains
# (checks 23-25; median move 1.3 points on corrupted-only sets, 15.4 on class-mix-only); else Median-5-Spread.
COT_GATE = 0.05
# Ref-Avg over-estimates the larger drops (+1.9 points where it predicts 10-20 on the benchmark's generated sets, about
# 0 under 10): Ref-Avg-Shrunk takes this share of its predicted drop off again, fitted on those 92 model-sets alone
# (the least MAE on a 0.005 grid), chosen by pre-registered check 30 on a round of families no estimate had seen,
# confirmed by check 31 on another, and kept by each check on a round of its own (32 to 35), until check 36 put
# Ref-Prior, which quotes it where the class mix looks unchanged, ahead of it (kept by checks 37 and 38).
REFERENCE_SHRINK = 0.05
# Ref-Prior quotes Ref-EM where COT's estimate on the BatchNorm reference (the class-balanced adapted copy's logits)
# moves by more than this (accuracy fraction: 8 points) when its class mix is EM's priors, else Ref-Avg-Shrunk.
# Read on the reference, that move tells a changed class mix from a corrupted-only set far better than on the trained
# logits, which COT_GATE reads (ROC AUC 0.93 against 0.81 over checks 21-35; it opened on 49 of their 104 model-sets
# with changed priors and 7 of 768 without), and Ref-EM, prior-corrected by EM, was 2.72 points MAE on those 104
# where Ref-Avg-Shrunk was 4.35. Chosen among 5 to 20 points on those rows; pre-registered check 36 adopted it.
PRIOR_TELL = 0.08
# Ref-Mix quotes COTT where at least this share of the competition images looks like the holdout (a mixture of
# broken and unchanged images) and Ref-Prior predicts a drop of at least MIX_DROP (accuracy fraction: 3 points; below
# it the two differ little). Chosen on checks 33-37's 384 model-sets, the only ones whose logits were kept: there the
# share was at least 0.23 on every set with a predicted drop of 3 points or more whose family leaves a share of the
# images unchanged, and at most 0.65 (median 0.03) on the others. Ref-Mix was 2.44 points MAE there against
# Ref-Prior's 2.99 (2.43 against 2.44 on the sets where every image changed); any share from 0.35 to 0.5 with a drop
# of 2 to 3 points gave 2.44 to 2.56. Pre-registered check 38 confirmed it on a round it had not seen: 2.71 against
# 3.28 over 80 model-sets, 2.72 against 2.72 on the 40 of the families that change every image.
MIX_SHARE = 0.4
MIX_DROP = 0.03
# Ref-Sep reads the split only where its two parts' classifier scores lie at least this far apart (medians, in the
# holdout scores' standard deviations: ``domain.HoldoutLike.separation``), else COTT on the whole set. Read post hoc
# on the gated model-sets of checks 38-40 and the benchmark, whose families say which sets are mixtures: 1.52 to 6.74
# (median 3.38) on the 91 of families that break a share of the images, 1.11 to 1.67 (median 1.35) on the 17 of
# families that change every image (colour-4, double_exposure-2, fourier_style, colour_transfer). Over checks 33-40's
# 624 model-sets (round 40 included) 1.4 to 1.6 gave 2.28 points MAE against Ref-Split's 2.31; 1.5 differs from it on
# 27 of the 184 gated, 1.31 against 2.17 there; 2.0 gave 2.30, 2.5 gave 2.33. Pre-registered check 41 confirmed it on
# a round it had not seen: on round 41's 34 gated model-sets the every-image families' 7 read 1.05 to 1.40 and the
# "_some" families' 27 read 1.30 to 3.41 (the 7 under 1.5 mild changes, where COTT was the closer too). On round 42's
# 28 gated, all of "_some" families, 1.42 to 4.59: the 2 under 1.5 (mirror_ghost_some-4) were the split's, 0.89 to 1.88.
SPLIT_SEPARATION = 1.5
# Ref-Hedge quotes this share of Ref-EM, and the rest of Ref-Avg-Shrunk, where Ref-Prior's tell opens (Ref-Prior
# quotes all of Ref-EM there). Read post hoc in session 60 on checks 33-41: on the 15 tell-open model-sets of "_some"
# families with changed priors of checks 36-41, Ref-Avg-Shrunk was the closer on all 15 (2.55 against Ref-EM's 5.72
# points): where a share of the images is broken and the class mix changed, EM reads the broken share as a class mix.
# Chosen among quarters by leave-one-check-out on checks 33-41 (every left-out check chose three quarters): Ref-Sep so
# hedged 2.18 against 2.23 there. Recorded as prediction 42e before round 42 existed: 1.15 against Ref-Sep's 1.28 on
# it. Pre-registered check 43 put it ahead of Ref-Sep on a twentieth round: 1.83 against 1.93 over 80 model-sets,
# differing on 11 (all with changed priors, where the tell opened and the gate stayed shut: 3.84 against 4.62).
PRIOR_HEDGE = 0.75
# Ref-Parts (``ref_parts``, adopted by check 45): a part of a split with fewer rows than this is not read apart
PART_MIN_ROWS = 50


@dataclass(frozen=True)
class HeldOutEvidence:
    """Pre-registered checks' mean absolute error (points) for an estimator on held-out model-sets, beside the
    estimators it was compared with there: one record that the report quotes wherever it names the evidence (kept
    out of ``measured_error.json``, whose notes would go stale at every check)."""
    checks: str  # as in benchmarks/PREREGISTERED.md: "check 26", "checks 26 to 29"
    model_sets: int
    mae_points: float
    against: Mapping[str, float]  # first the estimator the checks tested it against, then others measured beside
    why_these: str = ""  # why these checks and not all of them, said after their names

    def versus(self) -> str:
        """'1.77 against Median-5-Spread's 1.87 and Ref-Avg's 1.86'."""
        return f"{self.mae_points:.2f} against " + and_list([f"{k}'s {v:.2f}" for k, v in self.against.items()])

    def words(self) -> str:
        """'on the 440 held-out model-sets of pre-registered checks 30 to 35, the only ones ..., 3.09 against ...'."""
        why = f", {self.why_these}," if self.why_these else ""
        return f"on the {self.model_sets:,} held-out model-sets of pre-registered {self.checks}{why} {self.versus()}"


# What made each reference estimator the recommendation where a run has a BatchNorm reference (PREFERRED's notes).
# Ref-Doubt: checks 46 to 55, the only rounds it was not chosen on (round 45 chose it post hoc): over rounds 46 and 47
# 2.33 against Ref-Parts' 2.61 over 160, the two differing on 3 (round 46's ascii_art_some-2, round 47's
# pointillism_some-2 and -4, all weak_cnn's), Ref-Doubt the closer on all 3; on round 46 2.63 against 2.74, on round 47
# 2.04 against 2.49; on round 48, whose rule 48a kept it, 2.55 against 2.68, differing on 1 (resnet9q_ls's
# thermal_some-2: 1.27 points off against 11.90); on round 49, whose rule 49a kept it, 1.83 both, differing on none; on
# round 50, whose rule 50a kept it, 2.38 both, differing on none; on round 51, whose rule 51a kept it, 1.66 both,
# differing on none; on round 52, whose rule 52a kept it, 1.63 both, differing on none; on round 53 2.27 against
# 2.55, differing on 2 (resnet9q's and resnet9q_ls's tie_dye_some-2), Ref-Doubt the closer on both; on round 54 2.09
# both, differing on none; on round 55 1.81 both, differing on none.
# Ref-Parts: checks 45 to 55, the only rounds it was not chosen on (rounds 43-44 chose it post hoc): on round 45 4.27
# against Ref-Hedge's 4.32 over 80, 2.64 against 3.12 on the 8 where the two differed, Median-5-Spread (3.94) and
# Ref-Avg-Shrunk (4.05) lower there, which its record says beside it; on round 46 2.74 both (it looked again on 7 and
# read the parts on none), Ref-Avg-Shrunk 4.27 and Median-5-Spread 5.01; on round 47 2.49 against 2.54; on round 48 2.68
# against 2.77 (it looked again on 10 and read the parts on 1); on round 49 1.83 both (it looked again on 6 and read the
# parts on none); on round 50 2.38 against 2.39 (it looked again on 7 and read the parts on 4); on round 51 1.66 against
# 1.61 (it looked again on 6 and read the parts on 2, farther on both: holo_foil_some with changed priors for resnet9q
# and resnet9q_ls, 3.1 and 4.9 points off against 2.0 and 1.7); on round 52 1.63 against 1.66 (it looked again on 6 and
# read the parts on 2); on round 53 2.55 against 2.60 (it looked again on 12 and read the parts on 3); on round 54 2.09
# against 2.12 (it looked again on 8 and read the parts on 2); on round 55 1.81 both (it looked again on 8 and read the
# parts on none).
# Ref-Hedge: checks 42 to 55, the rounds it was not chosen on (on round 43, whose rule adopted it, 1.83 against
# Ref-Sep's 1.93 over 80, 3.84 against 4.62 on the 11 where the two differed; on round 42, where session 60 recorded it
# as a prediction, 1.15 against 1.28; on round 44 1.28 against 1.24, 2.16 against 1.82 on the 10 where the two differed:
# closer on 7, but 3.0 to 3.5 points off on three sets where only the class mix changed, where Ref-EM was within 1.5; on
# round 45 4.32 against 4.69, the hardest round for both: Ref-Prior's tell opened on 7 model-sets whose class mix had
# not changed, cross-stitch on a share of the images for the three resnets, and the hedge read them up to 33 points
# high, Ref-Sep more; on round 46 2.74 against 2.77; on round 47 2.54 against 2.61; on round 48 2.77 against 2.98; on
# round 49 1.83 against 1.77; on round 50 2.39 against 2.52; on round 51 1.61 against 1.70; on round 52 1.66 against
# 1.79; on round 53 2.60 against 2.69; on round 54 2.12 against 2.23; on round 55 1.81 against 1.77).
# COT-Gated stands beside it since session 63's benchmark put it lower there (1.80 against 1.85): the report names both.
# Ref-Sep: checks 41 to 55 (on round 41, whose rule adopted it, 1.79 against Ref-Split's 1.92 over 80, 0.70 against 1.43
# on the 14 where the two differed; round 42's rule kept it, 1.28 against 1.25, within the 0.10 allowed, and pooled
# lower; on round 43 1.93 against 2.18; on round 44 1.24 against 1.37; on round 45 4.69 against 4.79; on round 46 2.77
# both). Ref-Split: checks 40 to 55, the rounds it was not chosen on (on round 40, whose rule adopted it, 1.75 against
# Ref-Mix's 1.89 over 80, 1.15 against 1.07 on the 40 of the families that change every image, where no more than 0.10
# higher was allowed; on round 41 1.92 against 1.93; on round 42 1.25 against 1.32; on round 43 2.18 against 2.14; on
# round 44 1.37 against 1.45; on round 45 4.79 against 5.13; on round 46 2.77 against 3.21). Check 39 had not adopted it
# (2.43 against 2.78, but 2.26 against 2.08 on its every-image families). Ref-Mix: checks 38 to 55, the rounds it was
# not chosen on, each pairing four changes made on every image with the same made in full on a share (on round 38 2.71
# against Ref-Prior's 3.28, 2.72 both on the 40 of the families that change every image; on round 39 2.78 against 3.47,
# and 2.08 against 2.06; on round 40 1.89 against 2.43, and 1.07 against 1.06; on round 41 1.93 against 2.20; on round
# 42 1.32 against 1.71; on round 43 2.14 against 2.77; on round 44 1.45 against 1.55; on round 45, three changes each on
# every image and on a share, 5.13 against 5.49; on round 46 3.21 against 4.62). Ref-Prior: checks 36 to 55, the rounds
# it was not chosen on (on round 36 its tell opened on 8 of the 16 model-sets whose class mix changed and on none of the
# 64 others, 2.39 against Ref-Avg-Shrunk's 2.93; Ref-EM alone was 2.32 there, but 3.54 over rounds 30-36 against
# Ref-Prior's 2.84. On round 37, 3.30 against 3.34: the tell opened on 3 of 16 and 1 of 64; on round 38, 3.28 against
# 2.98; on round 39, 3.47 against 3.42; on round 40, 2.43 against 1.91; on round 41, 2.20 against 2.27; on round 42,
# 1.71 against 1.87; on round 43, 2.77 against 2.68; on round 44, 1.55 against 1.86, leading again over nine rounds,
# 2.57 against 2.58; on round 45, 5.49 against 4.05, its tell open on 7 model-sets whose class mix had not changed, so
# that over the ten rounds it trails again, 2.86 against Ref-Avg-Shrunk's 2.73; on round 46 4.62 against 4.27, the tell
# open on six such model-sets, 3.02 against 2.87 over eleven rounds). Ref-Avg-Shrunk before it: checks 30 to 55, the
# rounds it was not fitted or chosen on (on round 34 alone COT-Gated and Ref-Avg were closer, 3.93 and 3.99 against
# 4.26, and on round 35 COT-Gated, 2.63 against 2.74, but neither over the rounds pooled, as checks 34b and 35b asked;
# on round 45 4.05 against Ref-Avg's 4.15, COT-Gated's 4.25 and Median-5-Spread's 3.94; on round 46 4.27 against 4.79,
# 5.13 and 5.01). Ref-Avg before it: check 28's decision pooled the unseen model-sets of checks 26-28 (2.40 against 2.95
# and 2.53 over 180), and check 29's sixth round, where it also beat the candidate Ref-Switch (1.66 against 1.78), was
# pooled in. Over all seven of Ref-Avg's held-out checks, 21-29's 432 model-sets: 2.25 against Median-5-Spread's 2.87.
# Check 47's twenty-fourth round pools into each record from Ref-Parts' to Ref-Avg-Shrunk's: Ref-Parts 2.49 (it read
# the parts on 2 of the 8 where it looked again), Ref-Hedge 2.54, Ref-Sep and Ref-Split 2.61, Ref-Mix 2.91, Ref-Prior
# 3.76 (its tell open on 4 model-sets whose class mix had not changed), Ref-Avg-Shrunk 3.43, Ref-Avg 3.90,
# Median-5-Spread 3.72, COT-Gated 4.02 and Ref-EM 4.59 over its 80; Ref-Prior still trails Ref-Avg-Shrunk over rounds
# 36-47, 3.08 against 2.92. Check 48's twenty-fifth round pools into each record from Ref-Doubt's to Ref-Avg-Shrunk's:
# Ref-Doubt 2.55, Ref-Parts 2.68, Ref-Hedge 2.77, Ref-Sep and Ref-Split 2.98, Ref-Mix 3.38, Ref-Prior 5.12 (its tell
# open on 8 model-sets whose class mix had not changed), Ref-Avg-Shrunk 4.48, Ref-Avg 4.58, Median-5-Spread 4.18,
# COT-Gated 4.64 and Ref-EM 5.26 over its 80; Ref-Prior trails Ref-Avg-Shrunk over rounds 36-48, 3.24 against 3.04.
# Check 49's twenty-sixth round: Ref-Doubt, Ref-Parts and Ref-Hedge 1.83 (all three the same on every model-set),
# Ref-Sep 1.77, Ref-Split 1.79, Ref-Mix 2.34, Ref-Prior 3.20 (its tell open on 6 of the 16 model-sets whose class mix
# changed and on none of the 64 others), Ref-Avg-Shrunk 3.68, Ref-Avg 3.93, Median-5-Spread 4.10, COT-Gated 3.53 and
# Ref-EM 4.12 over its 80; over rounds 36-49 Ref-Prior 3.23 against Ref-Avg-Shrunk's 3.08. Check 50's twenty-seventh
# round: Ref-Doubt and Ref-Parts 2.38 (the same on every model-set; Ref-Parts read the parts on 4), Ref-Hedge 2.39,
# Ref-Sep and Ref-Split 2.52, Ref-Mix 3.04, Ref-Prior 3.25 (its tell open on 7 of the 16 model-sets whose class mix
# changed and on 1 of the 64 others), Ref-Avg-Shrunk 3.10, Ref-Avg 3.16, Median-5-Spread 4.59, COT-Gated 3.57 and Ref-EM
# 3.80 over its 80; over rounds 36-50 Ref-Prior 3.24 against Ref-Avg-Shrunk's 3.08. Check 51's twenty-eighth round:
# Ref-Doubt and Ref-Parts 1.66 (the same on every model-set; Ref-Parts read the parts on 2), Ref-Hedge 1.61, Ref-Sep
# 1.70, Ref-Split 1.71, Ref-Mix 2.33, Ref-Prior 2.77 (its tell open on 6 of the 16 model-sets whose class mix changed
# and on none of the 64 others), Ref-Avg-Shrunk 2.57, Ref-Avg 2.93, Median-5-Spread 3.14, COT-Gated 2.92 and Ref-EM 3.56
# over its 80; over rounds 36-51 Ref-Prior 3.21 against Ref-Avg-Shrunk's 3.05. Check 52's twenty-ninth round: Ref-Doubt
# and Ref-Parts 1.63 (the same on every model-set; Ref-Parts read the parts on 2), Ref-Hedge 1.66, Ref-Sep and Ref-Split
# 1.79, Ref-Mix 2.23, Ref-Prior 2.32 (its tell open on 6 of the 16 model-sets whose class mix changed and on none of
# the 64 others), Ref-Avg-Shrunk 2.62, Ref-Avg 2.87, Median-5-Spread 3.45, COT-Gated 2.68 and Ref-EM 3.12 over its 80;
# over rounds 36-52 Ref-Prior 3.15 against Ref-Avg-Shrunk's 3.03. Ref-Stack read 1.55 there (rule 52s adopted it).
# Check 53's thirtieth round: Ref-Doubt 2.27, Ref-Parts 2.55 (it read the parts on 3), Ref-Hedge 2.60, Ref-Sep,
# Ref-Split and Ref-Blend 2.69, Ref-Mix 2.78, Ref-Prior 3.56 (its tell open on 10 of the 16 model-sets whose class mix
# changed and on 4 of the 64 others), Ref-Avg-Shrunk 3.27, Ref-Avg 3.33, Median-5-Spread 3.70, COT-Gated 3.45 and
# Ref-EM 4.21 over its 80; over rounds 36-53 Ref-Prior 3.18 against Ref-Avg-Shrunk's 3.04. Ref-Stack read 1.90 there
# (rule 53a kept it).
# Check 54's thirty-first round: Ref-Doubt and Ref-Parts 2.09 (the same on every model-set; Ref-Parts read the parts
# on 2), Ref-Hedge 2.12, Ref-Sep 2.23, Ref-Split 2.25, Ref-Blend 2.27, Ref-Mix 2.48, Ref-Prior 3.21 (its tell open on 8
# of the 16 model-sets whose class mix changed and on none of the 64 others), Ref-Avg-Shrunk 3.14, Ref-Avg 3.33,
# Median-5-Spread 3.13, COT-Gated 2.97 and Ref-EM 4.33 over its 80; over rounds 36-54 Ref-Prior 3.18 against
# Ref-Avg-Shrunk's 3.05. Ref-Stack read 1.83 there (rule 54a kept it).
# Check 55's thirty-second round: Ref-Doubt, Ref-Parts and Ref-Hedge 1.81 (the same on every model-set; Ref-Parts
# read the parts on none), Ref-Sep and Ref-Split 1.77, Ref-Blend 1.94, Ref-Mix 2.26, Ref-Prior 2.37 (its tell open on
# 8 of the 16 model-sets whose class mix changed and on none of the 64 others), Ref-Avg-Shrunk 2.75, Ref-Avg 2.95,
# Median-5-Spread 4.00, COT-Gated 3.23 and Ref-EM 3.05 over its 80; over rounds 36-55 Ref-Prior 3.14 against
# Ref-Avg-Shrunk's 3.03. Ref-Stack read 1.61 there (rule 55s kept it); its record is rounds 52 to 55, each read with
# the trees fitted on the rounds before it. Ref-Stack-Gated read 1.61 there too (1.607 against 1.613: its gate opened
# on 5, all every-image sets with changed priors) and 1.79 on round 54 (1.793 against 1.830, open on 7); rule 55a
# adopted it, and its record is those two rounds, the ones its gate had not seen.
HELD_OUT = {"Ref-Stack-Gated": HeldOutEvidence("checks 54 and 55", 160, 1.70,
                                                {"Ref-Stack": 1.72, "Ref-Doubt": 1.95, "Ref-Parts": 1.95,
                                                 "Ref-Hedge": 1.97, "Ref-Avg-Shrunk": 2.94, "Median-5-Spread": 3.57},
                                                "the rounds its gate had not seen when it was written down"),
            "Ref-Stack": HeldOutEvidence("checks 52 to 55", 320, 1.72,
                                          {"Ref-Doubt": 1.95, "Ref-Parts": 2.02, "Ref-Hedge": 2.05,
                                           "Ref-Avg-Shrunk": 2.94, "Median-5-Spread": 3.57},
                                          "the first rounds written after its trees were fitted"),
            "Ref-Doubt": HeldOutEvidence("checks 46 to 55", 800, 2.09,
                                          {"Ref-Parts": 2.18, "Ref-Hedge": 2.21, "Ref-Sep": 2.28, "Ref-Prior": 3.42,
                                           "Ref-Avg-Shrunk": 3.33, "Ref-EM": 4.13, "Median-5-Spread": 3.90,
                                           "COT-Gated": 3.61},
                                          "the only rounds it was not chosen on"),
            "Ref-Parts": HeldOutEvidence("checks 45 to 55", 880, 2.37,
                                          {"Ref-Hedge": 2.40, "Ref-Sep": 2.50, "Ref-Prior": 3.61,
                                           "Ref-Avg-Shrunk": 3.40, "Ref-EM": 4.29, "Median-5-Spread": 3.91,
                                           "COT-Gated": 3.67},
                                          "the only rounds it was not chosen on"),
            "Ref-Hedge": HeldOutEvidence("checks 42 to 55", 1120, 2.19,
                                          {"Ref-Sep": 2.28, "Ref-Split": 2.32, "Ref-Prior": 3.26,
                                           "Ref-Avg-Shrunk": 3.13, "Ref-EM": 3.94, "Median-5-Spread": 3.59,
                                           "COT-Gated": 3.33},
                                          "the only rounds it was not chosen on"),
            "Ref-Sep": HeldOutEvidence("checks 41 to 55", 1200, 2.25,
                                        {"Ref-Split": 2.29, "Ref-Mix": 2.59, "Ref-Blend": 2.39, "Ref-Prior": 3.19,
                                         "Ref-Avg-Shrunk": 3.07, "Ref-EM": 3.87, "Ref-Avg": 3.26, "COT-Gated": 3.27,
                                         "Median-5-Spread": 3.52},
                                        "the only rounds it was not chosen on"),
            "Ref-Split": HeldOutEvidence("checks 40 to 55", 1280, 2.26,
                                          {"Ref-Mix": 2.55, "Ref-Blend": 2.36, "Ref-Prior": 3.15,
                                           "Ref-Avg-Shrunk": 3.00, "Ref-EM": 3.84, "Ref-Avg": 3.20, "COT-Gated": 3.19,
                                           "Median-5-Spread": 3.42},
                                          "the rounds it was not chosen on (check 39's rule had not adopted it: 2.43 "
                                          "against Ref-Mix's 2.78 there, but higher where every image changed)"),
            "Ref-Mix": HeldOutEvidence("checks 38 to 55", 1440, 2.57,
                                        {"Ref-Prior": 3.17, "Ref-Avg-Shrunk": 3.02, "Ref-EM": 3.90, "Ref-Avg": 3.25,
                                         "COT-Gated": 3.24, "Median-5-Spread": 3.45},
                                        "the only ones it was not chosen on"),
            "Ref-Prior": HeldOutEvidence("checks 36 to 55", 1600, 3.14,
                                          {"Ref-Avg-Shrunk": 3.03, "Ref-EM": 3.88, "Ref-Avg": 3.24, "COT-Gated": 3.25,
                                           "Median-5-Spread": 3.47},
                                          "the only ones it was not chosen on"),
            "Ref-Avg-Shrunk": HeldOutEvidence("checks 30 to 55", 2040, 3.04, {"Ref-Avg": 3.24, "COT-Gated": 3.22,
                                                                            "Median-5-Spread": 3.46},
                                               "the only ones it was neither fitted nor chosen on"),
            "Ref-Avg": HeldOutEvidence("checks 26 to 29", 252, 2.19, {"Median-5-Spread": 2.81, "COT-Gated": 2.35})}


@dataclass(frozen=True)
class RangeEvidence:
    """How often the range ``prediction_range`` gives ``estimator`` (the one upload, the ledger and the report quote)
    held the true accuracy on pre-registered checks' held-out model-sets: its half-widths are benchmark errors'
    90th percentiles, so whether it holds about 9 times in 10 on shifts outside the benchmark is measured, not
    assumed."""
    estimator: str
    checks: str  # as in benchmarks/PREREGISTERED.md
    model_sets: int
    covered: int  # model-sets whose true accuracy was inside the range
    below: int  # ... under its low end

    def words(self) -> str:
        """'87% of 1,023 held-out model-sets of pre-registered checks 33 to 45 (7% fell below it, 7% above)'."""
        n = self.model_sets
        return (f"{self.covered / n:.0%} of {n:,} held-out model-sets of pre-registered {self.checks} "
                f"({self.below / n:.0%} fell below it, {(n - self.covered - self.below) / n:.0%} above)")


# Recomputed from benchmarks/heldout_rows.csv by benchmarks/heldout_table.py (a unit test holds it to those rows).
# With ``RANGE_REACH_BELOW``, whose share was chosen on checks 21-32's rows: round 33, which no decision had read,
# 67 of 72 (60 without it); round 34, the hardest yet (a mean true drop of 24 points), 56 of 72; round 35, the
# mildest (7.2 points), 64 of 80, 14 of its 16 misses above. Since check 36 the range quoted is Ref-Avg-Shrunk's taken
# out to Ref-Prior (``RANGE_LENDER``): on round 36, 71 of 80 (Ref-Avg-Shrunk's own, 65); on round 37, 74 of 80 (72);
# on round 38, 72 of 80; over checks 21-38, 1,010 of 1,112.
# Since check 38 the range is quoted with Ref-Mix (the same, taken out to its estimate), whose holdout-like shares are
# known from check 33 on (``benchmarks/heldout_shares.csv``): 412 of checks 33-38's 464, where Ref-Prior's held on 411;
# on round 39 61 of 80, 16 of the misses below (the share families' drops, which Ref-Mix over-estimated by 2.8 points
# where its gate opened); over checks 33-39, 473 of 544. Since check 40 it is quoted with Ref-Split (the same, taken
# out to its estimate): 484 of checks 33-39's 544 (28 below), 74 of round 40's 80, over checks 33-40 558 of 624, where
# Ref-Mix's held on 547. Since check 41 it is quoted with Ref-Sep (the same, taken out to its estimate): 72 of round
# 41's 80, over checks 33-41 630 of 704 (39 below), as Ref-Split's; Ref-Mix's held on 619. Round 42's 80 (check 42,
# which asked 85%): 75 (3 below); over checks 33-42, 705 of 784 (42 below), where Ref-Split's held on 706. Since
# check 43 it is quoted with Ref-Hedge, whose estimate reaches less far toward Ref-EM where the tell opens: round 43's
# 80, 66 (9 below; Ref-Sep's 68); over checks 33-43, 752 of the 863 whose Ref-Hedge is known (51 below; Ref-Sep's 772).
# Check 44 asked whether to take it out to Ref-Prior's estimate as well (Ref-EM where the tell opens, as Ref-Sep's
# reached): on round 44's 80 both held on 70 (4 below), the two differing on 6, so it was not (44a asked 2 more). Over
# checks 33-44, 822 of 943 (55 below). Round 45's 80: 67 (12 below, all on families that change a share); over
# checks 33-45, 889 of 1,023 (67 below).
# Since check 45 it is quoted with Ref-Parts (Ref-Avg-Shrunk's, taken out to its estimate): over checks 33-45, 846 of
# the 951 whose Ref-Parts is known (66 below; 89.0%), where Ref-Hedge's held on 843 of the same. Not known on 72 of
# checks 33-42's model-sets, where Ref-Parts would have read a re-weighted share their logits, now gone, never gave:
# sets where the tell opened, whose ranges missed more often, so 89.0% flatters it; over all 1,023, Ref-Hedge's held
# on 889 (86.9%). Round 46's 80 (check 46, which asked 85%): 64, as Ref-Hedge's (15 below, all on families that change
# a share, 10 of them photomosaic_some; 1 above); over checks 33-46, 910 of 1,031 (81 below; 88.3%), Ref-Hedge's 953
# of all 1,103 (86.4%).
# Since check 47 it reaches at least ``RANGE_MARGIN`` either side of the estimate: over checks 33-46, 954 of 1,031 (48
# below; 92.5%). Round 47's 80 (check 47, which asked 85% of the range as quoted before and 88% with the margin): 74
# (6 below, all on families that change a share; 71 before); over checks 33-47, 1,028 of 1,111 (54 below; 92.5%).
# Since Ref-Doubt's adoption (check 47) the range is quoted with it (the same, reaching at least ``RANGE_MARGIN`` either
# side of its estimate): over checks 33-47, 1,032 of 1,111 (50 below; 92.9%), where Ref-Parts' held on 1,028; the two
# differ only where Ref-Doubt quotes COTT (7 model-sets, 4 of them the round 45 it was chosen on). Round 48's 80 (check
# 48, which predicted 88%): 73 (5 below, all on families that change a share; Ref-Parts' 72); over checks 33-48, 1,105
# of 1,191 (55 below; 92.8%), Ref-Parts' 1,100. Round 49's 80 (check 49, which predicted 88%): 73, as Ref-Parts' (4
# below, all shattered_some with changed priors; 3 above); over checks 33-49, 1,178 of 1,271 (59 below; 92.7%),
# Ref-Parts' 1,173. Round 50's 80 (check 50, which predicted 88%): 69, as Ref-Parts' (86.2%: 3 below, all bricks_some; 8
# above, where it read low: sandstorm with changed priors for three models, e_ink and e_ink_some for weak_cnn and
# resnet9q_e4, bricks_some with changed priors for weak_cnn); over checks 33-50, 1,247 of 1,351 (62 below; 92.3%),
# Ref-Parts' 1,242. Round 51's 80 (check 51, which predicted 85%): 79, as Ref-Parts' (98.8%: 1 below, weak_cnn's
# loupe_some-2); over checks 33-51, 1,326 of 1,431 (63 below; 92.7%), Ref-Parts' 1,321. Round 52's 80 (check 52, which
# predicted 85%): 74, as Ref-Parts' (92.5%: 4 below, 3 of them weak_cnn's vhs_some; 2 above); over checks 33-52,
# 1,400 of 1,511 (67 below; 92.7%), Ref-Parts' 1,395. Round 53's 80: 73, Ref-Parts' 71 (91.2%: 1 below, weak_cnn's
# paint_drips_some-2; 6 above, where it read low: green_screen with changed priors for the three resnets among them);
# over checks 33-53, 1,473 of 1,591 (68 below; 92.6%), Ref-Parts' 1,466. Round 54's 80: 73, as Ref-Parts' (91.2%: 3
# below, two of them flooded_some; 4 above, all weak_cnn's, three of them spotlight, where it read 5 to 13 points low);
# over checks 33-54, 1,546 of 1,671 (71 below; 92.5%), Ref-Parts' 1,539. Round 55's 80: 74, as Ref-Parts' (92.5%: 1
# below, weak_cnn's taped_some-2; 5 above, where it read low: high_pass with changed priors for all four models, 2 to 16
# points low, and weak_cnn's confetti-2); over checks 33-55, 1,620 of 1,751 (72 below; 92.5%), Ref-Parts' 1,613.
RANGE_HELD_OUT = RangeEvidence("Ref-Doubt", "checks 33 to 55", 1751, 1620, 72)


def range_record_owner(name: str) -> str | None:
    """Whose ``RANGE_HELD_OUT`` record speaks for the range quoted with ``name``: its own, or for Ref-Stack the
    estimator it corrects (whose rule it quotes round its own estimate); None where the record is another's."""
    owner = RANGE_HELD_OUT.estimator
    return owner if name == owner or (name in LEARNED_ESTIMATORS and owner == ref_stack.BASE) else None
# The share of its own predicted drop the range quoted with an estimator reaches below it. Ranges built from benchmark
# errors missed low on held-out shifts with large drops (46 of the 89 misses over checks 21-32 were below, 17 of round
# 32's 23): 0.45 is the smallest share in steps of 0.05 that held on 90% of those 648 rows (86.3% without it), and
# pre-registered check 33 adopted it on a tenth round: 67 of 72 held against 60, 0.82 points wider on average.
RANGE_REACH_BELOW = {"Ref-Avg-Shrunk": 0.45}
# Whose range an estimator quotes (``prediction_range``), reaching at least ``RANGE_MARGIN`` either side of its own
# estimate (before check 47, taken out just to it where it fell outside):
# Ref-Prior is Ref-Avg-Shrunk except where the tell opens, which the benchmark's generated sets seldom do, so its own
# errors there say little (pre-registered check 36 decided this with it). Ref-Mix, Ref-Split, Ref-Sep and Ref-Hedge
# likewise, except on mixtures (checks 38, 40, 41 and 43 decided it with them), and Ref-Parts and Ref-Doubt, which
# differ from Ref-Hedge on none of the benchmark's generated model-sets (checks 45 and 47), and Ref-Stack, Ref-Doubt
# corrected, which check 52 adopted with Ref-Doubt's range (on its round that rule held on 72 of 80 with Ref-Stack's
# estimate, 74 with Ref-Doubt's; on round 53, 73 with either; on round 54, 75 with Ref-Stack's, 73 with Ref-Doubt's;
# on round 55, 74 with either).
RANGE_LENDER = {"Ref-Prior": "Ref-Avg-Shrunk", "Ref-Mix": "Ref-Avg-Shrunk", "Ref-Split": "Ref-Avg-Shrunk",
                "Ref-Sep": "Ref-Avg-Shrunk", "Ref-Hedge": "Ref-Avg-Shrunk", "Ref-Parts": "Ref-Avg-Shrunk",
                "Ref-Doubt": "Ref-Avg-Shrunk", "Ref-Stack": "Ref-Avg-Shrunk", "Ref-Stack-Gated": "Ref-Avg-Shrunk"}


@dataclass(frozen=True)
class AdaptEvidence:
    """What following ``adaptation_pays`` did on pre-registered checks' held-out model-sets, against re-estimating
    BatchNorm on every one of them: mean change in accuracy (points) and how many lost more than a point, and how
    many of the rule's losses were where the class priors changed too."""
    checks: str  # as in benchmarks/PREREGISTERED.md
    model_sets: int
    rule_points: float
    always_points: float
    rule_losses: int
    always_losses: int
    priors_sets: int  # model-sets whose class priors changed as well as their images
    rule_losses_priors: int  # of rule_losses, those among priors_sets
    chosen_on: str = ""  # the checks whose rows the rule was chosen on, so not evidence for it

    def words(self) -> str:
        """'on the 1,672 held-out model-sets of pre-registered checks 21 to 45 (the rule chosen on checks 21 to 33),
        adapting only where it predicted no loss over 1 point changed accuracy by +5.30 points on average and lost
        more than a point on 43 of them (29 of those among the 280 whose class mix changed too), against +5.22 and
        81 for adapting on all'."""
        chosen = f" (the rule chosen on {self.chosen_on})" if self.chosen_on else ""
        return (f"on the {self.model_sets:,} held-out model-sets of pre-registered {self.checks}{chosen}, adapting "
                f"only where it predicted no loss over {ADAPT_MARGIN * 100:.0f} point changed accuracy by "
                f"{self.rule_points:+.2f} points on average and lost more than a point on {self.rule_losses} of them "
                f"({self.rule_losses_priors} of those among the {self.priors_sets} whose class mix changed too), "
                f"against {self.always_points:+.2f} and {self.always_losses} for adapting on all")


# Whether re-estimating BatchNorm on the competition images (predict.adapt_bn) will pay, read from a run's BatchNorm
# reference (the adapted copy's logits, which predict writes anyway): ADAPT_PREDICTOR's estimate on them minus its
# estimate on the trained logits. Adapting gained 6.4 points on average over checks 21-33's 720 held-out model-sets but
# lost more than a point on 25 (up to 13.4, on letterboxed images and where the class mix changed too). Of the
# estimators and margins tried on those rows, Shift-Gated's change with a margin of 1 point kept the gain (+6.5) and
# lost more than a point on 10; it predicted the change within 1.65 points on average. The margin admits a predicted
# loss under a point because the estimate is noisy and adapting usually pays. Pre-registered check 34 adopted it on an
# eleventh round: there adapting gained 10.1 points on average and the rule declined no model-set, so it did as well as
# always adapting (2 of 72 lost more than a point either way), and it predicted the change within 1.91 points: round 34
# showed the rule costs nothing where adapting pays, not that it catches a loss it was not chosen on. Check 35 asked
# that of a twelfth round with four sets of changed priors per model, and the rule did not: both model-sets where
# adapting lost more than a point (weak_cnn on cross_process and thumbnails with changed priors, -1.7 and -3.2) were
# predicted gains, while it declined three small gains (+1.28 points on average against +1.29). So
# `predict.adapt_bn: auto` was not built; the advice keeps the rule, which met check 34's test again. On check 36's
# round it caught the one loss (weak_cnn on sticker with changed priors, -1.0, predicted -3.0) and declined one gain of
# 0.7, where a stricter rule for changed class mixes declined nine and caught nothing more. Check 37 asked check 35's
# question again on a fourteenth round, and the rule missed both losses again (weak_cnn and resnet9q_e4 on stained_glass
# with changed priors, -1.1 and -1.6, predicted +13.2 and +19.5), declining three small gains, so `auto` is still not
# built. On check 38's round it lost on 3 of 80, always adapting on 6; on check 39's on 3, as always adapting did, all
# three with changed priors; on check 40's on 2, always adapting on 7; on check 41's on 1, always adapting on 3; on
# check 42's on none, nor did always adapting; on check 43's on 3, always adapting on 6; on check 44's on 3, always
# adapting on 5, all three of the rule's with changed priors; on check 45's on 12, always adapting on 19, 7 of the
# rule's with changed priors; on check 46's on 9, always adapting on 19, 2 of the rule's with changed priors; on check
# 47's on 11, always adapting on 15, 4 of the rule's with changed priors; on check 48's on 6, always adapting on 8, 1 of
# the rule's with changed priors; on check 49's on 2, as always adapting, both with changed priors. On check 50's on 5,
# always adapting on 8, 3 of the rule's with changed priors; on check 51's on 2, always adapting on 3, 1 of the rule's
# with changed priors; on check 52's on 5, always adapting on 6, all 5 of the rule's with changed priors; on check 53's
# on 1, always adapting on 2, the rule's with changed priors; on check 54's on 2, always adapting on 6, both of the
# rule's with changed priors; on check 55's on 1, as always adapting, with changed priors. The record below pools all
# 2,472: 51 of the rule's 87 losses were among the 440 model-sets whose class mix changed too. The reference is read
# without TTA, so against TTA-averaged submitted logits the predicted change leaves out what TTA would add to the
# adapted copy.
ADAPT_PREDICTOR = "Shift-Gated"
ADAPT_MARGIN = 0.01  # accuracy (a fraction): adapt unless the predicted change is below minus this
ADAPT_HELD_OUT = AdaptEvidence("checks 21 to 55", 2472, 4.59, 4.49, 87, 151, 440, 51, "checks 21 to 33")


def predicted_adaptation_change(trained: Mapping, adapted: Mapping) -> float | None:
    """``ADAPT_PREDICTOR`` on the adapted copy's logits minus on the trained ones (a fraction; None unless both
    have it): the accuracy re-estimating BatchNorm is predicted to add. Also for tables of rows with estimators
    as columns (``heldout_table.adaptation``), row by row."""
    if trained.get(ADAPT_PREDICTOR) is None or adapted.get(ADAPT_PREDICTOR) is None:
        return None
    return adapted[ADAPT_PREDICTOR] - trained[ADAPT_PREDICTOR]


def adaptation_pays(change: float) -> bool:
    """Check 34's rule: adapt unless the predicted change is a loss of more than ``ADAPT_MARGIN``."""
    return change > -ADAPT_MARGIN


def median_of(estimates: dict, members: Sequence[str] = MEDIAN_MEMBERS) -> float | None:
    """Median of the ``members`` estimates, or None unless every one of them was computed."""
    if not all(m in estimates for m in members):
        return None
    return float(np.median([estimates[m] for m in members]))


def member_spread(estimates: dict) -> float | None:
    """Range (max - min) of the ``SPREAD_MEMBERS`` estimates, or None unless every one was computed."""
    if not all(m in estimates for m in SPREAD_MEMBERS):
        return None
    vals = [estimates[m] for m in SPREAD_MEMBERS]
    return float(max(vals) - min(vals))


def median_spread_of(estimates: dict, median_name: str = "Median-4") -> float | None:
    """The median ``median_name`` (from its ``MEDIANS`` members when not computed) lowered by ``SPREAD_PENALTY``
    x ``member_spread``: when the members disagree the truth was lower."""
    median = estimates[median_name] if median_name in estimates else median_of(estimates, MEDIANS[median_name])
    spread = member_spread(estimates)
    if median is None or spread is None:
        return None
    return max(0.0, median - SPREAD_PENALTY * spread)


def cot_gated(estimates: dict) -> float:
    """Ref-Avg where COT's prior correction moved its estimate by more than ``COT_GATE``, else ``REFERENCE_PARTNER``:
    Ref-Avg gains where the class mix changed and loses on corrupted-only sets with better models (checks 23-25)."""
    moved = abs(estimates["COT-EM"] - estimates["COT"]) > COT_GATE
    return estimates["Ref-Avg"] if moved else estimates[REFERENCE_PARTNER]


def cot_prior_move(probs: np.ndarray, bcts: np.ndarray, source_priors: np.ndarray) -> float:
    """How far COT's estimate moves when its target class mix is EM's priors (from the BCTS-calibrated ``bcts``)
    instead of ``source_priors``: COT-EM minus COT, unsigned; large where the class mix changed."""
    em = label_shift.em_priors(bcts, source_priors)
    return abs(cot(probs, em) - cot(probs, source_priors))


def class_mix_looks_changed(reference_move: float) -> bool:
    """Ref-Prior's tell: the reference's ``cot_prior_move`` exceeds ``PRIOR_TELL``. One place for the rule that
    ``ref_prior`` applies and the report's sentence explains."""
    return reference_move > PRIOR_TELL


# Ref-Stack-Gated keeps Ref-Doubt where Ref-Prior's tell opens and under this share of the competition images looks
# like the holdout: mostly every image changed with the class mix, the one kind of set where the trees have moved
# Ref-Doubt the wrong way (3.35 against 3.16 points MAE over checks 33-55's 161, each round left out of the fit).
# Found post hoc by session 72 (1.789 against Ref-Stack's 1.795 over checks 33-53, each round left out; cut-offs of
# 0.05-0.3 gave 1.81-1.82 over checks 33-54); pre-registered check 55 adopted it on the two rounds it had not seen:
# 1.700 against 1.722 over rounds 54-55's 160 and 1.607 against 1.613 on round 55. The gain is small and rests on the
# 12 model-sets where it opened.
STACK_GATE_LIKE = 0.15


def stack_doubted(reference_move: float, holdout_like: float | None) -> bool:
    """Ref-Stack-Gated's gate: ``class_mix_looks_changed`` and a known holdout-like share under ``STACK_GATE_LIKE``
    (a NaN share, as the benchmark's rows hold an unknown one, leaves it shut)."""
    return class_mix_looks_changed(reference_move) and holdout_like is not None and holdout_like < STACK_GATE_LIKE


def ref_stack_gated(estimates: Mapping, reference_move: float, holdout_like: float | None) -> float:
    """Ref-Doubt where ``stack_doubted``, else Ref-Stack (each ``estimates``' own)."""
    return estimates[ref_stack.BASE] if stack_doubted(reference_move, holdout_like) else estimates["Ref-Stack"]


def ref_prior(estimates: Mapping, reference_move: float) -> float:
    """Ref-EM where ``class_mix_looks_changed``, else Ref-Avg-Shrunk: Ref-EM is prior-corrected, and
    Ref-Avg-Shrunk's other half (Median-5-Spread) misses changed class mixes by most."""
    return estimates["Ref-EM"] if class_mix_looks_changed(reference_move) else estimates["Ref-Avg-Shrunk"]


def looks_mixed(holdout_like: float | None, predicted_drop: float) -> bool:
    """Ref-Mix's tell: at least ``MIX_SHARE`` of the competition images look like the holdout while Ref-Prior
    predicts a drop (``predicted_drop``, accuracy fraction) of at least ``MIX_DROP``. One place for the rule that
    ``ref_mix`` applies and the report's sentence explains."""
    return holdout_like is not None and holdout_like >= MIX_SHARE and predicted_drop >= MIX_DROP


def where_mixed(estimates: Mapping, holdout_acc: float, holdout_like: float | None, mixture_estimate) -> float:
    """``mixture_estimate()`` where ``looks_mixed``, else Ref-Prior: the one gate Ref-Mix, Ref-Split, Ref-Blend and
    Ref-Sep share, which asks for the mixture's reading (its transports, for the split) only where it opens."""
    if looks_mixed(holdout_like, holdout_acc - estimates["Ref-Prior"]):
        return mixture_estimate()
    return estimates["Ref-Prior"]


def ref_mix(estimates: Mapping, holdout_acc: float, holdout_like: float | None) -> float:
    """COTT where ``looks_mixed``, else Ref-Prior: on a set of which only a share is broken, the reference adapts to
    neither part and Ref-EM reads its confidence as accuracy."""
    return where_mixed(estimates, holdout_acc, holdout_like, lambda: estimates["COTT"])


def split_cott(source_probs: np.ndarray, source_labels: np.ndarray, target_probs: np.ndarray, split) -> float:
    """COTT read on each part of ``split`` (a ``domain.HoldoutLike``) apart, weighted by its share: on a mixture,
    transport over the whole set carries the broken part's costs onto the unchanged part's images, and the two
    parts' errors do not cancel (Ref-Mix over-estimated such sets by 1.6 points on checks 33-38)."""
    parts = [(w, rows) for w, rows in ((split.share, split.like), (1 - split.share, split.unlike)) if len(rows)]
    return sum(w * cott(source_probs, source_labels, target_probs[rows]) for w, rows in parts) / sum(
        w for w, _ in parts)


def ref_split(estimates: Mapping, holdout_acc: float, holdout_like: float | None, split_estimate) -> float:
    """``split_estimate()`` (``split_cott``) where ``looks_mixed``, else Ref-Prior: Ref-Mix with COTT read on the
    holdout-like part and on the rest apart."""
    return where_mixed(estimates, holdout_acc, holdout_like, split_estimate)


def ref_blend(estimates: Mapping, holdout_acc: float, holdout_like: float | None, split_estimate) -> float:
    """The mean of COTT and ``split_estimate()`` where ``looks_mixed``, else Ref-Prior: a hedge between Ref-Mix and
    Ref-Split, since the gate also opens on mild changes of every image, where the split reads low."""
    return where_mixed(estimates, holdout_acc, holdout_like, lambda: (estimates["COTT"] + split_estimate()) / 2)


def parts_separate(separation: float) -> bool:
    """Ref-Sep's tell: the split's two parts score at least ``SPLIT_SEPARATION`` apart."""
    return separation >= SPLIT_SEPARATION


def ref_sep(estimates: Mapping, holdout_acc: float, holdout_like: float | None, separation: float | None,
            split_estimate) -> float:
    """Where ``looks_mixed``, ``split_estimate()`` if ``parts_separate`` else COTT; elsewhere Ref-Prior. Where the
    gate opens on a mild change of every image, the split cuts one population in two and reads the 'broken' half
    low, and COTT on the whole set is closer. ``separation`` is known wherever the gate can open."""
    return where_mixed(estimates, holdout_acc, holdout_like,
                       lambda: split_estimate() if parts_separate(separation) else estimates["COTT"])


def hedged_prior(estimates: Mapping, reference_move: float) -> float:
    """Ref-Prior with its Ref-EM hedged: ``PRIOR_HEDGE`` of Ref-EM and the rest of Ref-Avg-Shrunk where
    ``class_mix_looks_changed``, else Ref-Avg-Shrunk. The tell also opens where a share of the images is broken and
    the class mix changed, and there EM takes the broken share for a class mix."""
    if class_mix_looks_changed(reference_move):
        return PRIOR_HEDGE * estimates["Ref-EM"] + (1 - PRIOR_HEDGE) * estimates["Ref-Avg-Shrunk"]
    return estimates["Ref-Avg-Shrunk"]


def ref_hedge(estimates: Mapping, holdout_acc: float, reference_move: float, holdout_like: float | None,
              separation: float | None, split_estimate) -> float:
    """Ref-Sep read with ``hedged_prior`` in Ref-Prior's place, in its gate's predicted drop as where it quotes it."""
    hedged = {**estimates, "Ref-Prior": hedged_prior(estimates, reference_move)}
    return ref_sep(hedged, holdout_acc, holdout_like, separation, split_estimate)


def looks_again(estimates: Mapping, holdout_acc: float, reference_move: float, holdout_like: float | None) -> bool:
    """Where Ref-Parts reads the share again: Ref-Prior's tell opens and Ref-Hedge's gate stays shut. There a changed
    class mix alone tells the competition images from the holdout, so a set of which a share broke reads as one whose
    every image changed, and the share reads low."""
    hedged = hedged_prior(estimates, reference_move)
    return class_mix_looks_changed(reference_move) and not looks_mixed(holdout_like, holdout_acc - hedged)


def parts_atc_em(holdout_logits: np.ndarray, holdout_labels: np.ndarray, target_logits: np.ndarray,
                 temperature: float, split) -> float:
    """ATC-NE-EM read on each part of ``split`` (a ``domain.HoldoutLike``) apart, each with its own EM priors, and
    weighted by its share; a part of fewer than ``PART_MIN_ROWS`` rows is left out (the whole set is read if both
    are). Unlike ``split_cott``, each part is prior-corrected: the parts of a set whose class mix changed need not
    share one mix, since the split sorts images partly by class."""
    return _parts_atc_em(_fitted(holdout_logits, holdout_labels, target_logits, temperature), holdout_labels, split)


def _parts_atc_em(f: _Fitted, holdout_labels: np.ndarray, split) -> float:
    """``parts_atc_em`` from the state ``estimate_all`` fitted once."""
    parts = [(w, rows) for w, rows in ((split.share, split.like), (1 - split.share, split.unlike))
             if len(rows) >= PART_MIN_ROWS] or [(1.0, np.arange(len(f.target)))]
    return sum(w * atc_probs(f.source, holdout_labels, f.target[rows], "ne",
                             label_shift.em_priors(f.target_bcts[rows], f.source_priors))
               for w, rows in parts) / sum(w for w, _ in parts)


def ref_parts(estimates: Mapping, holdout_acc: float, reference_move: float, holdout_like: float | None,
              separation: float | None, split_estimate, reweighted_like, parts_estimate) -> float:
    """Ref-Parts (adopted by check 45): Ref-Hedge, but where ``looks_again`` and the holdout-like share read with the
    holdout re-weighted to EM's priors (``reweighted_like()``, None where unread) opens Ref-Hedge's gate,
    ``parts_estimate()`` (``parts_atc_em`` over that split). COTT and the split, which Ref-Hedge reads where its gate
    opens, are not prior-corrected, and read such sets up to 30 points low (session 63, rounds 43-44)."""
    if looks_again(estimates, holdout_acc, reference_move, holdout_like) and looks_mixed(
            reweighted_like(), holdout_acc - hedged_prior(estimates, reference_move)):
        return parts_estimate()
    return ref_hedge(estimates, holdout_acc, reference_move, holdout_like, separation, split_estimate)


def doubts_adapted(estimates: Mapping, holdout_acc: float, reference_move: float, holdout_like: float | None) -> bool:
    """Where Ref-Doubt quotes COTT: where Ref-Parts looks again (``looks_again``: Ref-Prior's tell open, the hedged
    Ref-Prior's drop leaving Ref-Hedge's gate shut), COTT's predicted drop opens that gate (``looks_mixed``). The tell
    also opens where a share of the images broke without a changed class mix, if the BatchNorm-adapted copy reads that
    share as confidently as the model does: then Ref-EM, and the hedge with it, predicts no drop (round 45's
    cross-stitch, 15 points off)."""
    return looks_again(estimates, holdout_acc, reference_move, holdout_like) and looks_mixed(
        holdout_like, holdout_acc - estimates["COTT"])


def ref_doubt(estimates: Mapping, holdout_acc: float, reference_move: float, holdout_like: float | None) -> float:
    """Ref-Doubt (adopted by check 47): COTT where ``doubts_adapted``, else Ref-Parts (``estimates["Ref-Parts"]``).
    Read post hoc on checks 33-45 it changes 4 of 951 model-sets, all round 45's cross-stitched shares, 23.7 points
    off to 0.8 there (session 65). Check 46 decided nothing: on its round it changed 1 of 80 (3 asked), closer there.
    Check 47 (rule 47b, pooled over rounds 46-47) adopted it: 2.33 against 2.61 over 160, closer on all 3 it
    changed."""
    if doubts_adapted(estimates, holdout_acc, reference_move, holdout_like):
        return estimates["COTT"]
    return estimates["Ref-Parts"]


def shrunk(estimate: float, holdout_acc: float) -> float:
    """``estimate`` lowered by ``REFERENCE_SHRINK`` of the drop it predicts from ``holdout_acc`` (none if it predicts a
    rise): the slope correction of Ref-Avg-Shrunk."""
    return max(0.0, estimate - REFERENCE_SHRINK * max(0.0, holdout_acc - estimate))


def measured_error(file: str = "measured_error.json") -> dict:
    """A benchmark's summary shipped with the package (``benchmarks/bench_gap.py`` writes ``measured_error.json``,
    ``bench_gap_novel.py`` the unseen-family one); empty when never measured."""
    try:
        return json.loads(resources.files("kaggle_kit.gap").joinpath(file).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, OSError):
        return {}


def measured_error_unseen_families() -> dict:
    """Errors on shift families outside the synthetic pool and the main benchmark (``bench_gap_novel.py``):
    {"estimators": {name: {"mae", "p90"}}, "families", "n_sets", "models"}; empty when never measured."""
    return measured_error("measured_error_novel.json")


def recommended_estimator(errors: dict | None = None, available=None) -> str:
    """The first of ``PREFERRED`` computed and measured (itself, or its ``RANGE_LENDER``, whose range it quotes), else
    the computed estimator with the lowest measured MAE (``RECOMMENDED`` if never measured)."""
    errors = measured_error() if errors is None else errors
    measured = errors.get("estimators", {})
    names = list(available) if available is not None else [*measured, *RANGE_LENDER]
    for name in PREFERRED:
        if name in names and (name in measured or RANGE_LENDER.get(name) in measured):
            return name
    scored = [(e["mae_all_generated"], n) for n, e in measured.items() if n in names]
    if scored:
        return min(scored)[1]
    return RECOMMENDED


def logits_only_estimator() -> str:
    """What the upload step falls back to without images or weights (and what it always used before the ledger
    named the estimator)."""
    return recommended_estimator(available=LOGITS_ONLY)


# Bins of the drop an estimator *predicts* (holdout accuracy - estimate, points): what a user knows before
# submitting, so the benchmark reports each estimator's error per bin and the report quotes the matching one.
DROP_BINS_POINTS = {"< 5": (-100.0, 5.0), "5-15": (5.0, 15.0), "15-30": (15.0, 30.0), "> 30": (30.0, 100.0)}
MIN_SETS_PER_BIN = 3  # fewer benchmark sets than this in a bin: quote the overall error instead


def drop_bin(drop_points: float) -> str:
    """The ``DROP_BINS_POINTS`` label whose half-open interval (lo, hi] holds ``drop_points`` (clamped into range)."""
    for label, (_, hi) in DROP_BINS_POINTS.items():  # ascending, contiguous bins
        if drop_points <= hi:
            return label
    return label


def expected_error(errors: dict, name: str, holdout_acc: float, estimate: float) -> dict | None:
    """The benchmark's error of ``name`` on sets where it predicted a drop like this one.

    Errors grow with the size of the shift, so one overall MAE over-states the error of a small predicted
    drop and under-states a large one. Returns {"mae", "p90", "n", "bin", "drop"} (accuracy fractions; "bin" is
    "all" when the matching bin had too few sets; "drop": the predicted drop in points that chose the bin), or None
    when ``name`` was never measured.
    """
    e = errors.get("estimators", {}).get(name)
    if not e:
        return None
    drop = 100.0 * (holdout_acc - estimate)
    label = drop_bin(drop)
    b = (e.get("by_predicted_drop") or {}).get(label)
    if b and b.get("n", 0) >= MIN_SETS_PER_BIN:
        return {"mae": b["mae"], "p90": b["p90"], "n": b["n"], "bin": label, "drop": drop}
    return {"mae": e["mae_all_generated"], "p90": e.get("p90_generated", e["max_error_generated"]),
            "n": e.get("n_generated"), "bin": "all", "drop": drop}


def expected_range(errors: dict, estimates: dict, holdout_acc: float, median_name: str = RANGE_MEDIAN) -> dict | None:
    """The range to expect the leaderboard accuracy in: [M - max(p90, spread), M + p90], M the ``median_name``
    (check 5 measured Median-4's).

    p90 is M's 90th-percentile error at its predicted drop (``expected_error``). The range widens only
    downwards and only when ``SPREAD_MEMBERS`` disagree: on unseen shift families the truth was then below the
    estimate (check 5: Median-4's covered 90% of 72 held-out model-sets; ±p90 covered 71%). Returns {"low", "high",
    "p90", "spread", "bin", "n"} (fractions, clipped to [0, 1]), "drop" (M's predicted drop, points, which chose
    "bin") and "by_spread" (True when the spread, not p90, set "low"); None when M or its error is unknown.
    """
    median, spread = estimates.get(median_name), member_spread(estimates)
    exp = None if median is None else expected_error(errors, median_name, holdout_acc, median)
    if exp is None or spread is None:
        return None
    by_spread = spread > exp["p90"]
    return {"low": max(0.0, median - (spread if by_spread else exp["p90"])), "high": min(1.0, median + exp["p90"]),
            "p90": exp["p90"], "spread": spread, "bin": exp["bin"], "n": exp["n"], "drop": exp["drop"],
            "by_spread": by_spread}


def symmetric_band(estimate: float, p90: float) -> tuple[float, float]:
    """``estimate`` ± its 90th-percentile error, clipped to [0, 1]: the range without the median's members."""
    return max(0.0, estimate - p90), min(1.0, estimate + p90)


def own_band(errors: dict, estimates: dict, holdout_acc: float, name: str) -> tuple[float, float] | None:
    """``name``'s estimate ± its own 90th-percentile error at its predicted drop; None when either is unknown."""
    est = estimates.get(name)
    exp = None if est is None else expected_error(errors, name, holdout_acc, est)
    return None if exp is None else symmetric_band(est, exp["p90"])


def joined_range(median_range: tuple[float, float], estimate: float | None,
                 band: tuple[float, float] | None) -> tuple[float, float]:
    """``median_range``, joined with the estimate's own ``band`` when the estimate falls outside it (Ref-Avg can:
    half of it is another model's read); a range that leaves out the number it is quoted with reads as a mistake."""
    low, high = median_range
    if estimate is None or band is None or low <= estimate <= high:
        return low, high
    return min(low, band[0]), max(high, band[1])


def prediction_range(errors: dict, estimates: dict, holdout_acc: float, name: str) -> tuple[float, float] | None:
    """(low, high) to expect for ``name``'s estimate: ``range_before_reach`` reaching ``reach_below``; None if
    neither range is known. An estimator in ``RANGE_LENDER`` quotes its lender's, reaching at least ``RANGE_MARGIN``
    either side of its own estimate (``with_margin``)."""
    if name in RANGE_LENDER:
        span = prediction_range(errors, estimates, holdout_acc, RANGE_LENDER[name])
        return None if span is None else with_margin(span, estimates.get(name), RANGE_MARGIN)
    span = range_before_reach(errors, estimates, holdout_acc, name)
    return None if span is None else reach_below(span, estimates.get(name), holdout_acc, name)


# How far at least the range an estimator borrows (``RANGE_LENDER``) reaches either side of its own estimate, as a
# fraction. Taken out just to the estimate where that fell outside the lender's range, as before check 47, it ended at
# the estimate itself; over checks 33-46 the truth fell below such an end on 27 of the 64 model-sets where Ref-Parts'
# range ended so. Read post hoc on those checks' 1,031 model-sets where Ref-Parts is known, 0.02 held on 954 against
# 910, the mean half-width 6.42 points against 6.20 (session 66; 0.01 on 929, 0.03 on 967). Pre-registered check 47
# adopted it: on round 47's 80 it held on 74 against 71 (6 below against 8), 0.12 points wider (7.54 against 7.42),
# the two ranges differing on 14. Over checks 33-46 as quoted since, 954 of 1,031 (48 below).
RANGE_MARGIN = 0.02


def with_margin(span: tuple[float, float], estimate: float | None, margin: float) -> tuple[float, float]:
    """``span`` reaching at least ``margin`` either side of ``estimate``, within [0, 1]. An estimate that falls
    outside its lender's range is no likelier right than wrong on the far side of it."""
    if estimate is None:
        return span
    return max(0.0, min(span[0], estimate - margin)), min(1.0, max(span[1], estimate + margin))


def range_before_reach(errors: dict, estimates: dict, holdout_acc: float, name: str) -> tuple[float, float] | None:
    """``expected_range`` when ``RANGE_MEDIAN`` is computed (joined with ``own_band`` when the estimate is outside
    it), else ``own_band``; None if neither is known. The report says when ``reach_below`` moved its low end."""
    rng = expected_range(errors, estimates, holdout_acc)
    band = own_band(errors, estimates, holdout_acc, name)
    return band if rng is None else joined_range((rng["low"], rng["high"]), estimates.get(name), band)


def reach_below(span: tuple[float, float], estimate: float | None, holdout_acc: float,
                name: str) -> tuple[float, float]:
    """``span`` with its low end at ``estimate`` minus ``RANGE_REACH_BELOW[name]`` of the drop it predicts from
    ``holdout_acc``, where that is lower (not under 0)."""
    share = RANGE_REACH_BELOW.get(name, 0.0)
    low, high = span
    if estimate is None or not share:
        return span
    return max(0.0, min(low, estimate - share * max(0.0, holdout_acc - estimate))), high


@dataclass(frozen=True)
class Prediction:
    """The one leaderboard prediction a user sees outside the report (at upload, in the ledger)."""
    accuracy: float
    estimator: str
    low: float | None = None   # expected range, fractions (``prediction_range``)
    high: float | None = None
    # every estimate computed, fractions: the ledger keeps them, so a later correction can use another estimator
    estimates: Mapping[str, float] = field(default_factory=dict, compare=False)

    def describe(self) -> str:
        rng = f"; expect {percent(self.low)} to {percent(self.high)}" if self.low is not None else ""
        return f"predicted leaderboard accuracy {percent(self.accuracy)} ({self.estimator}{rng})"


def finite_estimates(estimates: Mapping[str, float | None]) -> dict[str, float]:
    """The estimates that were computed (an estimator that could not run leaves None or NaN), as floats."""
    return {k: float(v) for k, v in estimates.items() if v is not None and np.isfinite(v)}


def recommended_prediction(result: dict, errors: dict | None = None) -> Prediction:
    """``estimate_all``'s result reduced to the recommended estimator's value and its range."""
    errors = measured_error() if errors is None else errors
    est = result["estimates"]
    name = recommended_estimator(errors, available=est)
    rng = prediction_range(errors, est, result["holdout_acc"], name)
    return Prediction(float(est[name]), name, *(rng or (None, None)),
                      estimates=finite_estimates(est))


def reference_estimate(temperature: float, source_priors: np.ndarray, target_logits: np.ndarray,
                       reference_logits: np.ndarray) -> float:
    """Ref-EM: the mean probability of each image's predicted class (``target_logits``' argmax) under the reference
    model's softmax at the holdout's ``temperature``, prior-corrected by EM from the holdout's ``source_priors``."""
    probs = calibrated_probs(reference_logits, temperature)
    probs = label_shift.adjust_probs(probs, source_priors, label_shift.em_priors(probs, source_priors))
    return float(probs[np.arange(len(probs)), target_logits.argmax(1)].mean())


def combined_with_reference(estimates: Mapping, holdout_acc: float, reference_move: float,
                            holdout_like: float | None, separation: float | None, split_estimate,
                            reweighted_like, parts_estimate) -> dict:
    """``REFERENCE_ESTIMATORS`` after Ref-EM, each built from ``estimates`` (Ref-EM and ``REFERENCE_PARTNER`` among
    them) and the earlier ones, in that order: one place for how the reference's estimators stack. The callables are
    read only where a gate asks for them (``ref_sep``, ``ref_parts``)."""
    e = dict(estimates)
    e["Ref-Avg"] = (e["Ref-EM"] + e[REFERENCE_PARTNER]) / 2
    e["COT-Gated"] = cot_gated(e)
    e["Ref-Avg-Shrunk"] = shrunk(e["Ref-Avg"], holdout_acc)
    e["Ref-Prior"] = ref_prior(e, reference_move)
    e["Ref-Mix"] = ref_mix(e, holdout_acc, holdout_like)
    e["Ref-Split"] = ref_split(e, holdout_acc, holdout_like, split_estimate)
    e["Ref-Blend"] = ref_blend(e, holdout_acc, holdout_like, split_estimate)
    e["Ref-Sep"] = ref_sep(e, holdout_acc, holdout_like, separation, split_estimate)
    e["Ref-Hedge"] = ref_hedge(e, holdout_acc, reference_move, holdout_like, separation, split_estimate)
    e["Ref-Parts"] = ref_parts(e, holdout_acc, reference_move, holdout_like, separation, split_estimate,
                               reweighted_like, parts_estimate)
    e["Ref-Doubt"] = ref_doubt(e, holdout_acc, reference_move, holdout_like)
    return {name: e[name] for name in REFERENCE_ESTIMATORS[1:]}


@dataclass(frozen=True)
class _Fitted:
    """What the estimators share, fitted on the holdout once: the temperature-scaled probabilities of both sides, the
    target's BCTS-calibrated ones (which EM needs: they reflect the holdout's priors), and the class priors."""
    temperature: float
    source: np.ndarray         # holdout probabilities at ``temperature``
    target: np.ndarray         # target probabilities at ``temperature``
    bcts: tuple                # the holdout's BCTS fit (``fit_bcts``), for the reference's probabilities too
    target_bcts: np.ndarray    # target probabilities under it
    source_priors: np.ndarray
    priors_em: np.ndarray
    priors_bbse: np.ndarray

    def em_weights(self, holdout_labels: np.ndarray) -> np.ndarray:
        """Each holdout image's weight q_y / p_y for EM's priors q: the holdout re-weighted to the target's estimated
        class mix, as Shift-Gated's domain AUC and Ref-Parts' second holdout-like share read it."""
        return (self.priors_em / np.maximum(self.source_priors, 1e-12))[holdout_labels]


def _fitted(holdout_logits: np.ndarray, holdout_labels: np.ndarray, target_logits: np.ndarray,
            temperature: float | None) -> _Fitted:
    t = fit_temperature(holdout_logits, holdout_labels) if temperature is None else temperature
    ps, pt = calibrated_probs(holdout_logits, t), calibrated_probs(target_logits, t)
    p_src = label_shift.class_priors(holdout_labels, holdout_logits.shape[1])
    bcts = fit_bcts(holdout_logits, holdout_labels)
    pt_b = bcts_probs(target_logits, *bcts)
    # EM assumes the calibrated posteriors reflect the holdout's priors; BCTS fitted on the holdout does.
    return _Fitted(t, ps, pt, bcts, pt_b, p_src, label_shift.em_priors(pt_b, p_src),
                   label_shift.bbse_priors(ps, holdout_labels, pt))


def _confidence_estimates(f: _Fitted, holdout_labels: np.ndarray) -> dict:
    """The estimators that read the model's probabilities alone, each once."""
    ps, pt, p_src, q_em = f.source, f.target, f.source_priors, f.priors_em
    costs_src = transport_costs(pt, p_src)  # shared by COT and COTT (exact transport: the costly step)
    return {
        "AC": average_confidence(pt),
        "DoC": doc(ps, holdout_labels, pt),
        "ATC-MC": atc_probs(ps, holdout_labels, pt, "mc"),
        "ATC-NE": atc_probs(ps, holdout_labels, pt, "ne"),
        "AC-EM": prior_adjusted_confidence(f.target_bcts, p_src, q_em),
        "ATC-NE-BBSE": atc_probs(ps, holdout_labels, pt, "ne", f.priors_bbse),
        "ATC-NE-EM": atc_probs(ps, holdout_labels, pt, "ne", q_em),
        "COT": cot(pt, p_src, costs_src),
        "COT-EM": cot(pt, q_em),
        "COTT": cott(ps, holdout_labels, pt, target_costs=costs_src),
    }


def _median_estimates(est: Mapping, f: _Fitted, holdout_logits: np.ndarray, holdout_labels: np.ndarray,
                      target_logits: np.ndarray, synthetic, exclude: Sequence[str]) -> dict:
    """Median-4 (and its spread) of ``est``, then with ``synthetic`` NucNorm and Median-5 (and its spread)."""
    out, median = {}, median_of(est)
    if median is not None:
        out["Median-4"] = median
        out["Median-4-Spread"] = median_spread_of(est)
    if synthetic is not None:
        from kaggle_kit.gap.nuclear_norm import nuclear_norm_estimate

        out["NucNorm"] = nuclear_norm_estimate(holdout_logits, holdout_labels, target_logits, f.temperature,
                                               synthetic, exclude)
        median = median_of({**est, **out}, MEDIAN_5_MEMBERS)
        if median is not None:
            out["Median-5"] = median
            out["Median-5-Spread"] = median_spread_of({**est, **out}, "Median-5")
    return out


@dataclass(frozen=True)
class _ReferenceReading:
    """What ``_reference_estimates`` read: None where the domain classifier could not split the sets (the shares and
    separation) or where no gate asked for a reading (the split's COTT, the re-weighted share, the parts)."""
    move: float                    # the reference's ``cot_prior_move``
    like: float | None             # the holdout-like share
    separation: float | None       # how far apart the split's two parts score
    split_cott: float | None       # ``split_cott``, where a gate read it
    reweighted_like: float | None  # the share with the holdout re-weighted to EM's priors, where Ref-Parts read it
    parts_atc_em: float | None     # ``parts_atc_em`` over that split, where its gate opened
    estimates: dict


def _reference_estimates(est: Mapping, f: _Fitted, holdout_logits: np.ndarray, holdout_labels: np.ndarray,
                         target_logits: np.ndarray, reference_logits: np.ndarray, holdout_acc: float
                         ) -> _ReferenceReading:
    """Ref-EM, and with ``REFERENCE_PARTNER`` in ``est`` the estimators stacked on it (``combined_with_reference``),
    each gated reading done once and only where asked."""
    from kaggle_kit.gap.domain import holdout_like_split

    out = {"Ref-EM": reference_estimate(f.temperature, f.source_priors, target_logits, reference_logits)}
    move = cot_prior_move(calibrated_probs(reference_logits, f.temperature), bcts_probs(reference_logits, *f.bcts),
                          f.source_priors)
    hl, tl = log_softmax(holdout_logits, axis=1), log_softmax(target_logits, axis=1)
    split = holdout_like_split(hl, tl)
    like, separation = (None, None) if split is None else (split.share, split.separation)
    if est.get(REFERENCE_PARTNER) is None:
        return _ReferenceReading(move, like, separation, None, None, None, out)
    # two transports, gated, once; a second split (a classifier's fit), gated, once
    split_estimate = cache(lambda: split_cott(f.source, holdout_labels, f.target, split))
    reweighted = cache(lambda: holdout_like_split(hl, tl, source_weights=f.em_weights(holdout_labels)))
    parts_estimate = cache(lambda: _parts_atc_em(f, holdout_labels, reweighted()))
    out.update(combined_with_reference({**est, **out}, holdout_acc, move, like, separation, split_estimate,
                                       lambda: None if reweighted() is None else reweighted().share, parts_estimate))

    def kept(reading):
        return reading() if reading.cache_info().currsize else None
    again = kept(reweighted)
    return _ReferenceReading(move, like, separation, kept(split_estimate), None if again is None else again.share,
                             kept(parts_estimate), out)


def estimate_all(holdout_logits: np.ndarray, holdout_labels: np.ndarray, target_logits: np.ndarray,
                 temperature: float | None = None,
                 members: tuple[Sequence[np.ndarray], Sequence[np.ndarray]] | None = None,
                 synthetic=None, target_stats: np.ndarray | None = None, exclude: Sequence[str] = (),
                 holdout_stats: np.ndarray | None = None, reference_logits: np.ndarray | None = None) -> dict:
    """Every estimator's predicted target accuracy, plus what they were computed from.

    ``members``: (holdout logits per member, target logits per member) of an ensemble, for the agreement
    estimate (left out when every pair agrees on all or none of one set's images, or the ensemble gets all or
    none of the holdout right: ``agreement_line``, whose reason the result keeps as "agreement_reason").
    ``synthetic`` (a ``synthetic.SyntheticLogits`` of the same model) with ``target_stats`` (image statistics of
    the target images, ``synthetic.stats_matrix``) adds CC-Synth, and ``synthetic`` alone NucNorm; ``exclude``
    leaves corruption families out of both (the benchmark's unseen-family test). ``holdout_stats`` with
    ``target_stats`` (or ``synthetic``, which carries the holdout's) adds Shift-Gated and "shift_auc".
    ``reference_logits`` (a BatchNorm-adapted copy's on the target images, in ``target_logits``' order) adds Ref-EM,
    and with Median-5-Spread also Ref-Avg, COT-Gated, Ref-Avg-Shrunk, Ref-Prior, Ref-Mix, Ref-Split, Ref-Blend,
    Ref-Sep, Ref-Hedge, Ref-Parts and Ref-Doubt (``combined_with_reference``), and Ref-Stack (``ref_stack``) and
    Ref-Stack-Gated (``ref_stack_gated``) on them.
    Returns {"estimates": {name: acc}, "holdout_acc", "temperature", "priors_em", "priors_bbse",
    "source_priors", "shift_auc", "agreement_reason", "reference_move", "holdout_like_share",
    "holdout_like_separation", "holdout_like_split_cott", "holdout_like_reweighted", "parts_atc_em"}
    ("agreement_reason" None unless ``members`` gave no Agreement; "reference_move" the reference's
    ``cot_prior_move``, "holdout_like_share" Ref-Mix's ``domain.holdout_like_share``, "holdout_like_separation"
    Ref-Sep's ``domain.HoldoutLike.separation``, "holdout_like_split_cott" the ``split_cott`` a gate read,
    "holdout_like_reweighted" the share Ref-Parts read again and "parts_atc_em" the parts' reading where its gate
    opened, None without them).
    """
    holdout_labels = np.asarray(holdout_labels)
    f = _fitted(holdout_logits, holdout_labels, target_logits, temperature)
    if holdout_stats is None and synthetic is not None:
        holdout_stats = synthetic.holdout_stats
    est = _confidence_estimates(f, holdout_labels)
    shift_auc = None
    if holdout_stats is not None and target_stats is not None:
        from kaggle_kit.gap.domain import reweighted_domain_auc

        shift_auc = reweighted_domain_auc(holdout_stats, target_stats, f.em_weights(holdout_labels))
        if shift_auc is not None:  # None: too few images on a side to tell them apart
            est["Shift-Gated"] = gated(est["ATC-NE-EM"], est["COT"], shift_auc)
    if synthetic is not None and target_stats is not None and shift_auc is not None:
        from kaggle_kit.gap.synthetic import cc_synth_estimate

        # ``synthetic`` carries the holdout's statistics, so shift_auc is known here
        est["CC-Synth"] = cc_synth_estimate(f.source, holdout_labels, synthetic,
                                            calibrated_probs(synthetic.logits, f.temperature), f.target,
                                            target_stats, exclude, offset_weight=1.0 - gate_weight(shift_auc))
    est.update(_median_estimates(est, f, holdout_logits, holdout_labels, target_logits, synthetic, exclude))
    holdout_acc = float((holdout_logits.argmax(1) == holdout_labels).mean())
    ref = None
    if reference_logits is not None:
        ref = _reference_estimates(est, f, holdout_logits, holdout_labels, target_logits, reference_logits,
                                   holdout_acc)
        est.update(ref.estimates)
        if est.get("Ref-Doubt") is not None:
            est["Ref-Stack"] = ref_stack.ref_stack(est, holdout_acc, ref.like)
            if est["Ref-Stack"] is not None:
                est["Ref-Stack-Gated"] = ref_stack_gated(est, ref.move, ref.like)
    agreement_reason = None
    if members is not None and len(members[0]) >= 2:
        line = agreement_line(holdout_acc, [m.argmax(1) for m in members[0]], [m.argmax(1) for m in members[1]])
        if line.estimate is not None:
            est["Agreement"] = line.estimate
        agreement_reason = line.reason
    return {
        "estimates": est,
        "holdout_acc": holdout_acc,
        "temperature": float(f.temperature),
        "source_priors": f.source_priors,
        "priors_em": f.priors_em,
        "priors_bbse": f.priors_bbse,
        "shift_auc": shift_auc,
        "agreement_reason": agreement_reason,
        "reference_move": None if ref is None else ref.move,
        "holdout_like_share": None if ref is None else ref.like,
        "holdout_like_separation": None if ref is None else ref.separation,
        "holdout_like_split_cott": None if ref is None else ref.split_cott,
        "holdout_like_reweighted": None if ref is None else ref.reweighted_like,
        "parts_atc_em": None if ref is None else ref.parts_atc_em,
    }
