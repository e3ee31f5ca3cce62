"""The numpydoc sections the two estimators share: parameters and fitted
attributes."""

from ._training import AUTO_BATCH_SIZE

PARAMETERS = """
    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of units in the ith hidden layer: the
        width of the *virtual* network.

    activation : {'identity', 'logistic', 'tanh', 'relu'}, default='relu'
        Activation of the hidden layers.

    compression : float in (0, 1], default=1/8
        Stored weights per virtual weight. Layer ``l`` stores
        ``K_l = max(1, round(compression * n_in * n_out))`` buckets. Ignored
        when ``n_buckets`` is given.

    n_buckets : int or array-like of int, default=None
        Number of buckets: one int for every layer, or one per weight layer
        (hidden layers plus output layer). Capped at the layer's
        ``n_in * n_out`` virtual weights. Overrides ``compression``.

    method : {'hashing', 'hashing_blocks', 'low_rank', 'random_edges', 'shrunk'}, \
            default='hashing'
        How a layer stores its weights, at equal storage (the paper's
        comparisons). ``'hashing'``: HashedNets buckets. ``'hashing_blocks'``:
        block-structured hashing in the spirit of ROAST (Desai and
        Shrivastava, 2022): each row of a layer's virtual matrix is cut into
        blocks of 64 columns, and block ``b`` of row ``i`` reads 64
        consecutive buckets from a hashed start ``h(i, b)`` (wrapping around
        from the last bucket to the first) with one hashed sign ``xi(i, b)``;
        the same number of buckets as ``'hashing'``, and training builds and
        differentiates the virtual matrix by contiguous copies and adds,
        about twice as fast; ``export_c`` exports it too. ``'low_rank'``: the
        paper's low-rank decomposition (Denil et al., 2013): one factor fixed
        (a random sign matrix recomputed from the layer's seed, never stored),
        the other learned along the layer's smaller side, of rank
        ``r = round(budget / min(n_in, n_out))``, between 1 and
        ``max(n_in, n_out)``. ``'random_edges'``: a fixed random subset of
        ``budget`` connections, chosen by a hash of the layer's seed and never
        stored. ``'shrunk'``: a dense network whose hidden widths are scaled
        down (by one common factor, rounded down) until its weights and biases
        fit the hashed network's storage.

    quantize : {'int8', 'int4'} or None, default=None
        Train the model as it is stored at low precision. Each training step
        rounds every layer's stored weights to 255 (``'int8'``) or 15
        (``'int4'``) levels with one scale per layer, ``scale = max|w| / L``
        (L = 127 or 7) and ``q = rint(w / scale)``, runs the step on
        ``scale * q``, and passes the gradient straight through to the float
        weights the solver updates. The fitted ``buckets_`` are the rounded
        values, so ``predict`` is the quantized model: the one
        ``export_c(..., buckets=quantize)`` writes, to float rounding. The
        float weights are kept, privately, for ``warm_start`` and
        ``partial_fit``, which continue from them (changing ``quantize``
        between calls fine-tunes a model for another precision). Works with
        every solver and method; only ``'hashing'`` and ``'hashing_blocks'``
        have a C export. None trains in float, bit for bit as before.

    dropout : float in [0, 1), default=0.0
        Dropout probability on the hidden layers' outputs during training.
        Dropout is inverted (kept units are scaled by ``1 / (1 - p)``), so
        prediction needs no rescaling. Masks come from a counter-based hash
        of (seed, step, row, unit), so they never depend on threads.

    input_dropout : float in [0, 1), default=0.0
        Dropout probability on the input features during training.

    alpha : float, default=1e-4
        Strength of the L2 penalty on the stored weights (the buckets), scaled
        per batch as in scikit-learn's MLP. Biases are not penalized.

    batch_size : int or 'auto', default='auto'
        Size of minibatches; ``'auto'`` means ``min(AUTO_BATCH_SIZE, n_samples)``.

    solver : {'adam', 'sgd', 'lbfgs'}, default='adam'
        ``'adam'``: Adam with scikit-learn's update (``beta_1``, ``beta_2``,
        ``epsilon``), which scales each stored weight's step by its own
        gradient history and so suits the unequal loads of hash buckets.
        ``'sgd'``: momentum SGD (``momentum``, ``nesterovs_momentum`` and the
        ``learning_rate`` schedule apply); it wants a larger
        ``learning_rate_init`` (about 0.01). Adam is the default because it
        had the lowest validation error of every method in the experiments'
        sweep on Fashion-MNIST (docs/RESULTS.md).
        ``'lbfgs'``: SciPy's L-BFGS-B on the loss of the whole training set,
        over all stored parameters (buckets or factors, and biases) at once,
        as scikit-learn's; for small data sets, where it converges faster and
        better. ``max_iter`` counts its iterations, ``max_fun`` its loss
        evaluations, ``tol`` bounds the projected gradient; batches,
        learning rates, ``max_grad_norm``, ``shuffle`` and ``early_stopping``
        do not apply; it needs ``dropout=0``, ``input_dropout=0`` and
        ``rescale_grad=False``, and has no ``partial_fit``.

    learning_rate : {'constant', 'invscaling', 'adaptive', 'inverse_time'}, \
default='constant'
        Learning-rate schedule of ``solver='sgd'``, with the meanings of
        scikit-learn's MLP:
        ``'invscaling'`` uses ``learning_rate_init / (t + 1) ** power_t`` after
        each epoch (``t`` counts samples); ``'adaptive'`` divides the rate by 5
        each time progress stalls for ``n_iter_no_change`` epochs, and stops
        once it falls below 1e-6. ``'inverse_time'`` (the HashedNets paper's
        schedule, Torch's ``learningRateDecay``) takes update ``k`` (counted
        from 0 over all epochs of a fit) at
        ``learning_rate_init / (1 + learning_rate_decay * k)``.

    learning_rate_init : float, default=0.001
        Initial learning rate (step size) of the solver, as scikit-learn's
        default. It suits ``solver='adam'``; with ``solver='sgd'`` use about
        0.01.

    power_t : float, default=0.5
        Exponent of the ``'invscaling'`` schedule.

    learning_rate_decay : float >= 0, default=1e-4
        Decay per update of the ``'inverse_time'`` schedule (0 keeps the rate
        constant); the other schedules ignore it.

    momentum : float in [0, 1], default=0.9
        Momentum of the SGD updates.

    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum.

    beta_1 : float in [0, 1), default=0.9
        Decay rate of Adam's first-moment estimate (``solver='adam'``).

    beta_2 : float in [0, 1), default=0.999
        Decay rate of Adam's second-moment estimate (``solver='adam'``).

    epsilon : float, default=1e-8
        Adam's numerical-stability constant (``solver='adam'``).

    max_grad_norm : float or None, default=100.0
        Global L2 norm above which a batch gradient (all stored weights and
        biases together) is scaled down to it before the solver's step; None
        never clips. Training on scaled data stays well below the default
        (the largest norm seen in the experiments' settings was about 45,
        ``python benchmarks/grad_norms.py``): it acts
        on badly scaled input, where it turns a blow-up into slow progress and
        a warning (which says how many steps were clipped;
        ``n_clipped_steps_`` keeps the count).

    rescale_grad : bool, default=False
        Divide each bucket's gradient by its load, the number of virtual
        weights that share it (the option of the HashedNets authors' code), so
        that a bucket's step no longer grows with ``1 / compression``. With
        ``method='random_edges'`` or ``'shrunk'`` every load is 1 and nothing
        changes; ``method='low_rank'`` refuses it.

    max_iter : int, default=200
        Maximum number of epochs per call to ``fit`` (iterations with
        ``solver='lbfgs'``).

    shuffle : bool, default=True
        Shuffle the samples at each epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds the hash functions, the weight initialization, the dropout masks,
        the shuffling and the validation split. Pass an int for identical
        ``buckets_`` on every refit.

    tol : float, default=1e-4
        Improvement of the loss (or validation score) below which an epoch
        counts as no progress.

    verbose : bool or int, default=False
        ``fit`` prints one line per epoch: loss, validation score when early
        stopping, and time. ``partial_fit`` prints one line per call (a chunk
        of a stream), or per ``verbose`` calls when it is an int above 1: the
        rows seen so far, the chunk's loss and its rows per second, as in
        ``Chunk 12: 120000 rows seen, loss = 0.31415926, 5123 rows/s``.

    warm_start : bool, default=False
        Reuse the previous solution as the start of the next ``fit``. With
        ``early_stopping``, every call holds out the same rows (for a given
        ``random_state``) and the best epoch of all calls is kept.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified for
        single-output classification), stop when its score stops improving,
        and keep the parameters of the best epoch. Not supported by
        ``partial_fit``, and ignored by ``solver='lbfgs'``, as in
        scikit-learn's MLPs. The validation set needs at least 2 samples.

    validation_fraction : float in [0, 1), default=0.1
        Share of the training data held out when ``early_stopping`` is set.

    n_iter_no_change : int or np.inf, default=10
        Epochs without ``tol`` improvement before stopping (or, with the
        ``'adaptive'`` schedule, before dividing the learning rate);
        ``np.inf`` never stops early.

    max_fun : int, default=15000
        Maximum number of loss evaluations of ``solver='lbfgs'`` (each a
        forward and backward pass over all samples); ignored by the other
        solvers.
""".replace("AUTO_BATCH_SIZE", str(AUTO_BATCH_SIZE))

ATTRIBUTES = """
    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit; only when X has string feature names.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of output units.

    out_activation_ : str
        Output activation: {out_activation}.

    activation_ : str
        Hidden activation the model was fitted with.

    buckets_ : list of ndarray of shape (K_l,)
        The stored weights of each layer: the hash buckets (with ``quantize``,
        their values ``scale * q`` at that precision).

    quantize_ : {{'int8', 'int4'}} or None
        The precision ``buckets_`` were trained for by the last call to
        ``fit`` or ``partial_fit`` (or rounded to by
        :func:`sk_hashednets.quantize`).

    intercepts_ : list of ndarray of shape (n_out_l,)
        The dense biases of each layer.

    hash_seeds_ : ndarray of shape (`n_layers_` - 1, 2), dtype uint32
        ``(seed_h, seed_xi)`` of each layer: the bucket hash and the sign hash
        seeds. With ``buckets_`` they define the virtual weights exactly (see
        the hash recipe in the user guide, "The method and the hash recipe").

    coefs_ : list of ndarray of shape (n_in, n_out)
        The virtual weight matrices, built from the buckets when read.

    n_stored_params_ : int
        Stored parameters: buckets plus biases.

    n_stored_bytes_ : int
        Bytes the model stores at its precision (``quantize_``), as
        ``export_c`` stores it: the buckets (4 bytes each in float32, 1 in
        int8, two int4 buckets a byte), a float32 scale per quantized layer,
        and the float32 biases.

    n_virtual_params_ : int
        Parameters of the dense network with the same architecture.

    loss_ : float
        Training loss of the last epoch (L2 penalty included).

    loss_curve_ : list of float
        Training loss of each epoch (of each iteration with
        ``solver='lbfgs'``), over all calls since the network was drawn.

    best_loss_ : float or None
        Lowest training loss; None with early stopping.

    validation_scores_ : list of float or None
        Validation score of each epoch with early stopping, else None.

    best_validation_score_ : float or None
        Best validation score with early stopping, else None.

    n_iter_ : int
        Number of epochs (L-BFGS iterations with ``solver='lbfgs'``) of the
        last call to ``fit`` or ``partial_fit``, as in scikit-learn: a
        warm-started ``fit`` runs up to ``max_iter`` more. ``loss_curve_``
        covers all calls.

    n_clipped_steps_ : int
        Steps of the last ``fit`` or ``partial_fit`` call whose gradient was
        clipped to ``max_grad_norm``.

    t_ : int
        Number of training samples seen.
"""
