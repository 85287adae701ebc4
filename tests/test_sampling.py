import numpy as np
import pytest

from simgen.errors import ConfigError
from simgen.sampling import Choice, Constant, LogUniform, Normal, OnSphere, Uniform, UniformInt, as_sampler, bounds


def draws(sampler, n=2000, seed=0):
    rng = np.random.default_rng(seed)
    return [sampler.sample(rng) for _ in range(n)]


@pytest.mark.parametrize("sampler, low, high", [
    (Uniform(0.2, 0.5), 0.2, 0.5),
    (LogUniform(0.01, 10.0), 0.01, 10.0),
    (UniformInt(3, 8), 3, 8),
    (Normal(1.0, 5.0, low=0.0, high=2.0), 0.0, 2.0),
])
def test_scalar_samplers_stay_in_range(sampler, low, high):
    values = np.array(draws(sampler))
    assert values.min() >= low and values.max() <= high
    assert values.std() > 0


def test_uniform_int_hits_both_ends():
    assert set(draws(UniformInt(3, 5), 300)) == {3, 4, 5}


def test_log_uniform_spreads_over_decades():
    values = np.array(draws(LogUniform(0.01, 100.0), 4000))
    per_decade = np.histogram(np.log10(values), bins=4, range=(-2, 2))[0]
    assert per_decade.min() > 800


def test_vector_uniform_per_axis():
    values = np.array(draws(Uniform([0, 10, 100], [1, 11, 101])))
    assert values.shape == (2000, 3)
    assert np.all(values.min(0) >= [0, 10, 100]) and np.all(values.max(0) <= [1, 11, 101])


def test_choice_respects_weights():
    values = draws(Choice(["a", "b"], weights=[1, 3]), 4000)
    assert 0.7 < values.count("b") / len(values) < 0.8


def test_on_sphere_gives_unit_vectors_within_elevation():
    vecs = np.array(draws(OnSphere(elevation=[30, 60])))
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1)
    elev = np.degrees(np.arcsin(vecs[:, 2]))
    assert elev.min() >= 30 - 1e-9 and elev.max() <= 60 + 1e-9


def test_same_rng_seed_gives_same_values():
    assert draws(Uniform(0, 1), 10, seed=5) == draws(Uniform(0, 1), 10, seed=5)
    assert draws(Uniform(0, 1), 10, seed=5) != draws(Uniform(0, 1), 10, seed=6)


@pytest.mark.parametrize("value, expected", [
    (3, Constant(3.0)),
    (0.5, Constant(0.5)),
])
def test_as_sampler_numbers_are_constants(value, expected):
    assert as_sampler("k", value) == expected


def test_as_sampler_pair_is_uniform():
    assert isinstance(as_sampler("k", [1, 2]), Uniform)


@pytest.mark.parametrize("bad", ["abc", [1, 2, 3], [2, 1], None, True])
def test_as_sampler_rejects_bad_values_naming_the_key(bad):
    with pytest.raises(ConfigError, match="^fov"):
        as_sampler("fov", bad)


@pytest.mark.parametrize("make", [
    lambda: Uniform(2, 1), lambda: LogUniform(0, 1), lambda: Normal(0, -1), lambda: Choice([]),
    lambda: Choice([1, 2], weights=[1]), lambda: OnSphere(elevation=[-100, 0]), lambda: UniformInt(5, 1),
])
def test_bad_sampler_arguments_raise_config_errors(make):
    with pytest.raises(ConfigError):
        make()


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("make, key", [
    (lambda: as_sampler("fov", NAN), "fov"), (lambda: as_sampler("fov", INF), "fov"),
    (lambda: as_sampler("fov", [NAN, 1]), "fov"), (lambda: as_sampler("fov", [0, INF]), "fov"),
    (lambda: Uniform(NAN, 1), "low"), (lambda: Uniform([0, 0], [1, NAN]), "high[1]"),
    (lambda: Normal(NAN, 1), "mean"), (lambda: Normal(0, INF), "std"), (lambda: Normal(0, 1, low=NAN), "low"),
    (lambda: Normal(0, 1, high=NAN), "high"), (lambda: LogUniform(1, INF), "high"), (lambda: LogUniform(NAN, 1), "low"),
    (lambda: Choice([1.0, NAN]), "values[1]"), (lambda: Choice([[640, 480], [INF, 240]]), "values[1][0]"),
    (lambda: Choice([1, 2], weights=[1, NAN]), "weights[1]"), (lambda: OnSphere(elevation=[0, NAN]), "elevation[1]"),
    (lambda: OnSphere(azimuth=[-INF, 0]), "azimuth[0]"), (lambda: Constant(NAN), "value"),
])
def test_non_finite_sampler_arguments_are_config_errors(make, key):
    with pytest.raises(ConfigError, match=r"expected a finite number, got -?(nan|inf)$") as err:
        make()
    assert err.value.key == key


@pytest.mark.parametrize("sampler, expected", [
    (Constant(2.0), (2.0, 2.0)), (Constant((1.0, 2.0)), None), (Uniform(0.2, 0.5), (0.2, 0.5)),
    (Uniform([0, 1], [1, 2]), None), (LogUniform(0.01, 10.0), (0.01, 10.0)), (UniformInt(3, 8), (3, 8)),
    (Normal(1.0, 0.1), (-INF, INF)), (Normal(1.0, 0.1, low=0.5), (0.5, INF)), (Normal(1.0, 5.0, 0.0, 2.0), (0.0, 2.0)),
    (Choice([3, 1, 2]), (1, 3)), (Choice([3, 1, 2], weights=[1, 0, 1]), (2, 3)), (Choice(["a", "b"]), None),
    (OnSphere(), None),
])
def test_bounds_of_samplers(sampler, expected):
    assert bounds(sampler) == expected


@pytest.mark.parametrize("value", [0, [-1, 2], [0, 1], Choice([1, 0]), Normal(1, 0.1, high=-1), UniformInt(0, 3)])
def test_as_sampler_refuses_a_known_range_outside_the_bounds(value):
    with pytest.raises(ConfigError, match="^scale: expected (a number|numbers) > 0, got "):
        as_sampler("scale", value, low=0, low_open=True)


@pytest.mark.parametrize("value", [1, [0.5, 2], Choice([1, 0], weights=[1, 0]), Normal(1, 0.1),
                                   Normal(1, 0.1, low=0.5)])
def test_as_sampler_takes_a_range_inside_the_bounds_or_unbounded(value):
    assert as_sampler("scale", value, low=0, low_open=True, high=2)
